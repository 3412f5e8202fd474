/**
 * Demo step (e), the live path: containerd + `ctr run ... echo hello` in a QEMU guest through the ccgpu shim.
 * PLACEHOLDER until the real one lands (the lead owns this file). Contract with the demo runner (run-demo.ts):
 * print through `ctx.out`; return a StepOutcome ({status: 'pass'|'fail'|'skip', summary}) or true/false; returning
 * nothing means "not available" and is shown as a skip; throwing is a failure.
 */
import type { DemoContext, StepOutcome } from './types.js';

export async function runLiveDemo(ctx: DemoContext): Promise<StepOutcome | void> {
  ctx.out.say('live containerd demo: not yet available');
}

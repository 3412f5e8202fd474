/** Shapes shared by the demo steps and their runner. */

/** `skip`: the step cannot run on this machine (says why); it does not make the demo fail. */
export type StepStatus = 'pass' | 'fail' | 'skip';

export interface StepOutcome {
  status: StepStatus;
  /** One line for the summary table. */
  summary: string;
}

/** What a step prints through: human-readable lines, indented under the step's title. */
export interface DemoOutput {
  /** A line of narration ("what it does"). */
  say(line: string): void;
  /** A block of tool output (a report, a command line), shown further indented. */
  show(text: string): void;
}

export interface DemoContext {
  out: DemoOutput;
  /** A fresh temporary directory for this step (removed after the demo). */
  workDir: string;
  /** Root of the ccgpu package (configs/, policy/rules/ ...). */
  packageRoot: string;
}

export interface DemoStep {
  /** Short id used by `ccgpu demo --only`: host-check, gpu-host, policy, attestation, live. */
  id: string;
  title: string;
  run(ctx: DemoContext): Promise<StepOutcome>;
}

/**
 * Bundles the guest agent (a TS/JS entry point) into one self-contained file with esbuild, deterministically (no
 * timestamps, no absolute paths, no source maps), for node 20 in the guest.
 */
import { build } from 'esbuild';
import path from 'node:path';

export type AgentFormat = 'esm' | 'cjs';

export interface AgentBundle {
  code: Buffer;
  format: AgentFormat;
  /** Where it goes in the guest: /agent.mjs (esm) or /agent.cjs (cjs). */
  guestPath: string;
}

/** ESM bundles of CommonJS dependencies call require(): give them one. */
const ESM_BANNER =
  "import { createRequire as __ccgpuCreateRequire } from 'node:module';\nconst require = __ccgpuCreateRequire(import.meta.url);";

export async function bundleAgent(entry: string, format: AgentFormat = 'esm'): Promise<AgentBundle> {
  const abs = path.resolve(entry);
  let result;
  try {
    result = await build({
      entryPoints: [abs],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      write: false,
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'silent',
      absWorkingDir: path.dirname(abs),
      banner: format === 'esm' ? { js: ESM_BANNER } : undefined,
      // native addons (*.node) cannot be inlined; they must be shipped as extra files
      external: ['*.node'],
    });
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
    const detail = errors?.length
      ? errors.map((x) => (x.location ? `${x.location.file}:${x.location.line}: ${x.text}` : x.text)).join('; ')
      : String(e);
    throw new Error(`agent bundle: esbuild failed for ${entry}: ${detail}`, { cause: e });
  }
  const out = result.outputFiles[0];
  if (!out) throw new Error(`agent bundle: esbuild produced no output for ${entry}`);
  return { code: Buffer.from(out.contents), format, guestPath: format === 'esm' ? '/agent.mjs' : '/agent.cjs' };
}

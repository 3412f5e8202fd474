/** `qemu-system-x86_64 --version`: running it (once per binary) and parsing the answer. */
import { runCommand } from '../subprocess/index.js';
import { errorMessage } from '../errors/index.js';

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  /** The version as printed, e.g. `11.1.2`. */
  text: string;
}

/** First QEMU release with each guest type: `sev-snp-guest` 9.1, `tdx-guest` 10.1. */
export const MIN_QEMU_FOR_TEE = {
  snp: { major: 9, minor: 1, object: 'sev-snp-guest' },
  tdx: { major: 10, minor: 1, object: 'tdx-guest' },
} as const;

/** Parses `QEMU emulator version X.Y[.Z] ...`; undefined when the text has no such line. */
export function parseQemuVersion(output: string): QemuVersion | undefined {
  const m = /QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const micro = m[3] === undefined ? 0 : Number(m[3]);
  return { major, minor, micro, text: `${major}.${minor}.${micro}` };
}

export function versionAtLeast(v: QemuVersion, min: { major: number; minor: number }): boolean {
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}

export type QemuVersionAnswer =
  | {
      version: QemuVersion;
      output: string;
      /**
       * User-creatable object types from `<binary> -object help` (e.g. `sev-snp-guest`, `tdx-guest`), or the reason
       * they could not be listed.
       */
      objects: string[] | { error: string };
    }
  | { error: string };

/** Parses `-object help`: the indented names after "List of user creatable objects:". */
export function parseObjectHelp(output: string): string[] | undefined {
  const lines = output.split('\n');
  const start = lines.findIndex((l) => /^List of user creatable objects:/.test(l));
  if (start < 0) return undefined;
  return lines
    .slice(start + 1)
    .filter((l) => /^\s+\S/.test(l))
    .map((l) => l.trim());
}

/** Runs `<binary> --version`, caching by path (checks of several flavours share a binary). */
export type QemuVersionProbe = (binary: string) => Promise<QemuVersionAnswer>;

export function qemuVersionProbe(timeoutMs = 10_000): QemuVersionProbe {
  const cache = new Map<string, Promise<QemuVersionAnswer>>();
  return (binary) => {
    let p = cache.get(binary);
    if (!p) {
      p = probe(binary, timeoutMs);
      cache.set(binary, p);
    }
    return p;
  };
}

async function probe(binary: string, timeoutMs: number): Promise<QemuVersionAnswer> {
  try {
    const r = await runCommand(binary, ['--version'], { timeoutMs, allowFailure: true });
    const output = `${r.stdout}${r.stderr}`.trim();
    if (r.code !== 0)
      return { error: `\`${binary} --version\` exited ${r.code}: ${output.split('\n')[0] || 'no output'}` };
    const version = parseQemuVersion(output);
    if (!version) {
      return {
        error: `\`${binary} --version\` printed no "QEMU emulator version X.Y" line: ${output.split('\n')[0] || 'no output'}`,
      };
    }
    return { version, output, objects: await listObjects(binary, timeoutMs) };
  } catch (e) {
    return { error: errorMessage(e) };
  }
}

async function listObjects(binary: string, timeoutMs: number): Promise<string[] | { error: string }> {
  try {
    const r = await runCommand(binary, ['-object', 'help'], { timeoutMs, allowFailure: true });
    const output = `${r.stdout}${r.stderr}`;
    const objects = r.code === 0 ? parseObjectHelp(output) : undefined;
    if (!objects) {
      return {
        error: `\`${binary} -object help\` exited ${r.code} without an object list: ${output.split('\n')[0] || 'no output'}`,
      };
    }
    return objects;
  } catch (e) {
    return { error: errorMessage(e) };
  }
}

/**
 * Shared libraries a host binary needs, resolved with `ldd` (the dynamic loader's own answer, so RPATHs and the
 * host's library layout are respected). Static binaries have none.
 */
import { runTool } from './run-tool.js';

/**
 * Absolute paths of the libraries (and the ELF interpreter) `binary` loads, in ldd order, without the vDSO.
 * Throws when a library is "not found" on the host.
 */
export async function sharedLibrariesOf(binary: string): Promise<string[]> {
  const r = await runTool('ldd', [binary], { okCodes: [1] });
  const text = r.stdout.toString('utf8') + r.stderr;
  if (/not a dynamic executable|statically linked/.test(text)) return [];
  if (r.code !== 0) throw new Error(`ldd ${binary} failed: ${text.trim()}`);
  const libs: string[] = [];
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('linux-vdso') || t.startsWith('linux-gate')) continue;
    const arrow = /^(\S+) => (\S+)/.exec(t);
    if (arrow) {
      if (arrow[2] === 'not') throw new Error(`${binary} needs ${arrow[1]}, which is not found on this host`);
      libs.push(arrow[2]!);
      continue;
    }
    const direct = /^(\/\S+)/.exec(t);
    if (direct) libs.push(direct[1]!);
  }
  return libs;
}

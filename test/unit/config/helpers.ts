import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const shipped = (flavour: string): string => path.join(repoRoot, 'configs', `configuration-${flavour}.toml`);

/** A minimal valid base file. */
export const MINIMAL = `[hypervisor.qemu]
path = "/usr/bin/qemu-system-x86_64"
kernel = "/boot/vmlinuz"
`;

/** Writes `files` (relative name → text) into a fresh temp dir; returns the dir. */
export function tempConfigDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-config-'));
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

/** A temp `configuration.toml` with `text`, returning its path. */
export function tempConfig(text: string, dropIns: Record<string, string> = {}): string {
  const files: Record<string, string> = { 'configuration.toml': text };
  for (const [n, t] of Object.entries(dropIns)) files[`config.d/${n}`] = t;
  return path.join(tempConfigDir(files), 'configuration.toml');
}

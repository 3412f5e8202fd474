import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../../src/cli/commands/cdi.js';
import { hgxH100, writeHostTree } from '../../fixtures/sysfs/host-model.js';

let tmp: string;
let out: string;
let err: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-cli-'));
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ccgpu cdi', () => {
  it('generate writes the specs for an HGX host; list shows them; --dry-run writes nothing', async () => {
    const root = path.join(tmp, 'host');
    writeHostTree(root, hgxH100());
    const runDir = path.join(tmp, 'run');
    expect(await run(['generate', '--sysfs-root', root, '--output', path.join(tmp, 'dry'), '--dry-run'])).toBe(0);
    expect(out).toContain('# nvidia.com-pgpu.yaml\n---\ncdiVersion: 0.5.0\nkind: nvidia.com/pgpu\n');
    expect(fs.existsSync(path.join(tmp, 'dry'))).toBe(false);

    out = '';
    expect(await run(['generate', '--sysfs-root', root, '--output', runDir])).toBe(0);
    expect(out).toBe(
      `${path.join(runDir, 'nvidia.com-nvswitch.yaml')}\n${path.join(runDir, 'nvidia.com-pgpu.yaml')}\n`,
    );

    out = '';
    expect(await run(['list', '--cdi-dir', path.join(tmp, 'etc'), '--cdi-dir', runDir])).toBe(0);
    expect(out).toContain(
      `${path.join(runDir, 'nvidia.com-pgpu.yaml')} (kind nvidia.com/pgpu, cdiVersion 0.5.0)\n  nvidia.com/pgpu=0\n`,
    );
    expect(out).toContain('  nvidia.com/nvswitch=11\n');
  });

  it('list reports broken files and exits 1', async () => {
    const runDir = path.join(tmp, 'run');
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(runDir, 'bad.yaml'), 'cdiVersion: 0.5.0\nkind: nvidia.com/pgpu\ndevices: []\n');
    expect(await run(['list', '--cdi-dir', runDir])).toBe(1);
    expect(out).toContain(
      `${path.join(runDir, 'bad.yaml')}\n  error: failed to load CDI Spec invalid CDI Spec: invalid spec, no devices`,
    );
  });

  it('inject prints the edited spec; unresolvable names fail with exit 1', async () => {
    const runDir = path.join(tmp, 'run');
    fs.mkdirSync(runDir);
    fs.writeFileSync(
      path.join(runDir, 'null.yaml'),
      '---\ncdiVersion: 0.3.0\nkind: example.com/null\ndevices:\n- name: nul\n  containerEdits:\n    env: [X=1]\n    deviceNodes: [{path: /dev/null}]\n',
    );
    const config = path.join(tmp, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ ociVersion: '1.1.0', process: { env: ['A=b'] } }));
    expect(await run(['inject', '--spec', config, '--cdi-dir', runDir, 'example.com/null=nul'])).toBe(0);
    const spec = JSON.parse(out);
    expect(spec.process.env).toEqual(['A=b', 'X=1']);
    expect(spec.linux.devices).toEqual([{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666 }]);
    expect(await run(['inject', '--spec', config, '--cdi-dir', runDir, 'example.com/null=m'])).toBe(1);
    expect(err).toBe(
      'ccgpu cdi inject: unresolvable CDI devices example.com/null=m (known kinds: example.com/null; closest in example.com/null: nul)\n',
    );
  });

  it('generate with an invalid alias: one clear error, nothing on disk', async () => {
    const root = path.join(tmp, 'host');
    writeHostTree(root, hgxH100());
    vi.stubEnv('P_GPU_ALIAS', 'bad alias');
    try {
      expect(await run(['generate', '--sysfs-root', root, '--output', path.join(tmp, 'run')])).toBe(1);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(err).toBe(
      `ccgpu cdi generate: invalid P_GPU_ALIAS "bad alias": it must be a valid CDI class: invalid class. invalid character ' ' in name "bad alias"\n`,
    );
    expect(fs.existsSync(path.join(tmp, 'run'))).toBe(false);
  });

  it('usage and unknown subcommands', async () => {
    expect(await run([])).toBe(2);
    expect(out).toContain('ccgpu cdi generate');
    expect(await run(['frob'])).toBe(2);
    expect(err).toContain('unknown subcommand "frob"');
  });
});

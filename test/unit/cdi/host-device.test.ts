import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CdiRegistry, splitDevNumber, statHostDevice } from '../../../cdi/index.js';

const isRoot = process.getuid?.() === 0;
function canMknod(): boolean {
  if (!isRoot) return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-mknod-probe-'));
  try {
    execFileSync('mknod', [path.join(dir, 'x'), 'c', '1', '3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const haveMknod = canMknod();
if (!haveMknod) console.warn('skipping real device-node tests: need root and mknod to create device nodes');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdi-dev-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('host device lookup', () => {
  it('splits glibc dev_t numbers, including large majors and minors', () => {
    expect(splitDevNumber(0x0103n)).toEqual({ major: 1, minor: 3 });
    expect(splitDevNumber((243n << 8n) | 65n)).toEqual({ major: 243, minor: 65 });
    // major 509, minor 300: minor's high bits live above bit 20
    const rdev = ((509n & 0xfffn) << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n);
    expect(splitDevNumber(rdev)).toEqual({ major: 509, minor: 300 });
    const bigMajor = ((4100n & 0xfffn) << 8n) | ((4100n & ~0xfffn) << 32n) | 7n;
    expect(splitDevNumber(bigMajor)).toEqual({ major: 4100, minor: 7 });
  });

  it('stats /dev/null as c 1:3 and rejects regular files and missing paths', () => {
    expect(statHostDevice('/dev/null')).toEqual({ type: 'c', major: 1, minor: 3, fileMode: 0o666 });
    const f = path.join(tmp, 'file');
    fs.writeFileSync(f, '');
    expect(() => statHostDevice(f)).toThrow('not a device node');
    expect(() => statHostDevice(path.join(tmp, 'missing'))).toThrow('ENOENT');
  });

  it.skipIf(!haveMknod)('real VFIO-numbered char, block and fifo nodes (root, mknod)', () => {
    const mk = (name: string, ...args: string[]): string => {
      const p = path.join(tmp, name);
      execFileSync('mknod', ['-m', '0660', p, ...args]);
      return p;
    };
    const group = mk('65', 'c', '243', '65');
    const cdev = mk('vfio300', 'c', '509', '300');
    const blk = mk('nvme', 'b', '259', '1');
    const fifo = mk('fifo', 'p');
    expect(statHostDevice(group)).toEqual({ type: 'c', major: 243, minor: 65, fileMode: 0o660 });
    expect(statHostDevice(cdev)).toEqual({ type: 'c', major: 509, minor: 300, fileMode: 0o660 });
    expect(statHostDevice(blk)).toEqual({ type: 'b', major: 259, minor: 1, fileMode: 0o660 });
    expect(statHostDevice(fifo)).toMatchObject({ type: 'p', fileMode: 0o660 });

    fs.mkdirSync(path.join(tmp, 'run'));
    fs.writeFileSync(
      path.join(tmp, 'run/nvidia.com-pgpu.yaml'),
      `---\ncdiVersion: 0.5.0\nkind: nvidia.com/pgpu\ndevices:\n- name: "65"\n  containerEdits:\n    deviceNodes:\n    - path: /dev/vfio/65\n      hostPath: ${group}\n    - path: /dev/vfio/devices/vfio300\n      hostPath: ${cdev}\n      permissions: rw\n`,
    );
    const reg = new CdiRegistry({ specDirs: [path.join(tmp, 'run')] });
    const { spec } = reg.injectDevices({}, ['nvidia.com/pgpu=65']);
    expect(spec.linux?.devices).toEqual([
      { path: '/dev/vfio/65', type: 'c', major: 243, minor: 65, fileMode: 0o660 },
      { path: '/dev/vfio/devices/vfio300', type: 'c', major: 509, minor: 300, fileMode: 0o660 },
    ]);
    expect(spec.linux?.resources?.devices).toEqual([
      { allow: true, type: 'c', major: 243, minor: 65, access: 'rwm' },
      { allow: true, type: 'c', major: 509, minor: 300, access: 'rw' },
    ]);
  });
});

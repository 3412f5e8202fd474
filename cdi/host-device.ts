/**
 * Looking up a host device node's type and numbers, which fill in what a CDI spec leaves out. Injectable so tests
 * can use fixture trees whose "device nodes" are regular files with numbers recorded elsewhere.
 */
import fs from 'node:fs';

export interface HostDeviceInfo {
  type: 'b' | 'c' | 'p';
  major: number;
  minor: number;
  /** Permission bits of the node (e.g. 0o666), when known. */
  fileMode?: number;
}

/** Returns the node's info, or throws when the path cannot be stat-ed or is not a device node. */
export type StatDevice = (hostPath: string) => HostDeviceInfo;

/** glibc's dev_t layout. */
export function splitDevNumber(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/** The real thing: lstat the host path (no symlink following, as upstream). */
export const statHostDevice: StatDevice = (hostPath) => {
  const st = fs.lstatSync(hostPath, { bigint: true });
  let type: HostDeviceInfo['type'];
  if (st.isBlockDevice()) type = 'b';
  else if (st.isCharacterDevice()) type = 'c';
  else if (st.isFIFO()) type = 'p';
  else throw new Error('not a device node');
  return { type, ...splitDevNumber(st.rdev), fileMode: Number(st.mode & 0o7777n) };
};

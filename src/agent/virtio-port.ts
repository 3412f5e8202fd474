/**
 * virtio-serial port discovery: find the port named e.g. `agent.channel.0` under /sys/class/virtio-ports and make
 * sure a device node exists for it (created from the port's `dev` major:minor when /dev has none, as udev would).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DeviceError } from '../errors/index.js';
import { runCommand } from '../subprocess/index.js';

export interface VirtioPort {
  /** Kernel device name, e.g. vport1p1. */
  device: string;
  /** The port's name as given by the host (virtserialport name=...). */
  name: string;
  major: number;
  minor: number;
}

/** Every virtio-serial port under `<sysRoot>/class/virtio-ports` (ports whose name is not known yet are left out). */
export function listVirtioPorts(sysRoot = '/sys'): VirtioPort[] {
  const dir = path.join(sysRoot, 'class', 'virtio-ports');
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const ports: VirtioPort[] = [];
  for (const device of entries) {
    let name: string;
    let dev: string;
    try {
      name = readFileSync(path.join(dir, device, 'name'), 'utf8').trim();
      dev = readFileSync(path.join(dir, device, 'dev'), 'utf8').trim();
    } catch {
      continue;
    }
    const m = /^(\d+):(\d+)$/.exec(dev);
    if (!name || !m) continue;
    ports.push({ device, name, major: Number(m[1]), minor: Number(m[2]) });
  }
  return ports;
}

/** The port named `name`, or undefined. */
export function findVirtioPort(name: string, sysRoot = '/sys'): VirtioPort | undefined {
  return listVirtioPorts(sysRoot).find((p) => p.name === name);
}

/** Waits (polling sysfs) until the port named `name` appears; throws DeviceError naming the ports seen. */
export async function waitForVirtioPort(name: string, timeoutMs: number, sysRoot = '/sys'): Promise<VirtioPort> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = findVirtioPort(name, sysRoot);
    if (p) return p;
    if (Date.now() >= deadline) {
      const seen = listVirtioPorts(sysRoot).map((x) => `${x.device}=${x.name}`);
      throw new DeviceError(
        `virtio-serial port "${name}" not found in ${path.join(sysRoot, 'class/virtio-ports')} after ${timeoutMs}ms ` +
          `(ports: ${seen.length ? seen.join(', ') : 'none'}); is the host's virtserialport named "${name}"?`,
        name,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The device node for `port`: `/dev/virtio-ports/<name>` or `/dev/<device>` when they exist, else a node created
 * with `mknod` (busybox) at `/dev/<device>`.
 */
export async function ensurePortNode(port: VirtioPort, devRoot = '/dev'): Promise<string> {
  for (const cand of [path.join(devRoot, 'virtio-ports', port.name), path.join(devRoot, port.device)]) {
    if (existsSync(cand) && statSync(cand).isCharacterDevice()) return cand;
  }
  const node = path.join(devRoot, port.device);
  await runCommand('mknod', [node, 'c', String(port.major), String(port.minor)], { timeoutMs: 5000 });
  return node;
}

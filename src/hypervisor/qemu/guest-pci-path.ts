/**
 * Guest PCI path of a cold-plugged device, resolved over QMP after boot (Kata `resolveColdPlugVFIOGuestPciPaths`):
 * `qom-get <id> addr` gives the device's slot (function must be 0), then walk `parent_bus` upwards, reading each
 * port's `addr`, until the bus is the root complex (`/machine/.../pcie.0`), at most 10 levels. The path is two-digit
 * hex slots joined by `/`, outermost first: a GPU in slot 0 of a root port in slot 6 is `06/00`.
 */
export interface QomClient {
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
}

const MAX_DEPTH = 10;

/** QEMU reports `addr` as a string like "06.0" or a number (devfn). Returns [slot, function]. */
export function parsePciAddr(v: unknown): [number, number] {
  if (typeof v === 'number') return [v >> 3, v & 7];
  if (typeof v === 'string') {
    const m = /^(?:0x)?([0-9a-f]+)(?:\.([0-7]))?$/i.exec(v.trim());
    if (m) return [Number.parseInt(m[1]!, 16), m[2] ? Number(m[2]) : 0];
  }
  throw new Error(`unexpected PCI addr value ${JSON.stringify(v)}`);
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * Resolves the guest PCI path of the device with QOM id `deviceId` (e.g. `vfio-0123...0`).
 * `/machine/peripheral/<id>` is where `-device ...,id=<id>` devices live.
 */
export async function resolveGuestPciPath(qmp: QomClient, deviceId: string): Promise<string> {
  let objPath = `/machine/peripheral/${deviceId}`;
  const slots: string[] = [];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const [slot, fn] = parsePciAddr(await qmp.execute('qom-get', { path: objPath, property: 'addr' }));
    if (depth === 0 && fn !== 0)
      throw new Error(`device ${deviceId} is function ${fn}; only function 0 has a guest PCI path`);
    slots.unshift(hex2(slot));
    const bus = String(await qmp.execute('qom-get', { path: objPath, property: 'parent_bus' }));
    if (/^\/machine\/.*\/pcie\.0$/.test(bus) || bus.endsWith('/pcie.0')) return slots.join('/');
    // the bus object is a child of its port device: drop the last component
    const parent = bus.replace(/\/[^/]+$/, '');
    if (!parent || parent === bus) throw new Error(`cannot walk up from bus ${bus} for device ${deviceId}`);
    objPath = parent;
  }
  throw new Error(`device ${deviceId}: more than ${MAX_DEPTH} bus levels below pcie.0`);
}

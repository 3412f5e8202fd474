/**
 * UpdateInterface / UpdateRoutes: enough to configure the VM's interfaces the way the Kata runtime asks (link up,
 * MTU, addresses; routes), with busybox/iproute2 `ip`. The interface is found by its MAC address (`hwAddr`), as
 * the Kata agent does, or by name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CcgpuError, Code } from '../errors/index.js';
import { runCommand } from '../subprocess/index.js';

export interface IpAddress {
  family?: number;
  address: string;
  mask: string;
}
export interface GuestInterface {
  device?: string;
  name: string;
  IPAddresses?: IpAddress[];
  mtu?: number | string;
  hwAddr?: string;
}
export interface GuestRoute {
  dest?: string;
  gateway?: string;
  device?: string;
  source?: string;
  scope?: number;
}

const NAME = /^[A-Za-z0-9_.:-]{1,15}$/;
const ADDR = /^[0-9A-Fa-f.:]+$/;

function bad(message: string, field: string): CcgpuError {
  return new CcgpuError(message, { code: Code.InvalidArgument, details: { field } });
}

/** The link whose MAC is `hwAddr` (case-insensitive), from `<sysRoot>/class/net/<name>/address`. */
export function linkByMac(hwAddr: string, sysRoot = '/sys'): string | undefined {
  const dir = path.join(sysRoot, 'class/net');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const n of names) {
    try {
      if (
        readFileSync(path.join(dir, n, 'address'), 'utf8')
          .trim()
          .toLowerCase() === hwAddr.toLowerCase()
      )
        return n;
    } catch {
      /* not a link with an address */
    }
  }
  return undefined;
}

/** The `ip` invocations that configure `iface` on link `link`. */
export function interfaceCommands(iface: GuestInterface, link: string): string[][] {
  if (!NAME.test(link)) throw bad(`interface "${link}": not a valid link name`, 'interface.name');
  const cmds: string[][] = [];
  const mtu = Number(iface.mtu ?? 0);
  if (!Number.isInteger(mtu) || mtu < 0 || mtu > 65535)
    throw bad(`interface ${link}: mtu ${iface.mtu} is out of range`, 'interface.mtu');
  if (iface.name && iface.name !== link) {
    if (!NAME.test(iface.name)) throw bad(`interface name "${iface.name}" is not valid`, 'interface.name');
    cmds.push(['link', 'set', 'dev', link, 'name', iface.name]);
  }
  const dev = iface.name || link;
  if (mtu > 0) cmds.push(['link', 'set', 'dev', dev, 'mtu', String(mtu)]);
  cmds.push(['addr', 'flush', 'dev', dev]);
  for (const a of iface.IPAddresses ?? []) {
    if (!ADDR.test(a.address) || !/^\d{1,3}$/.test(a.mask)) {
      throw bad(`interface ${dev}: address "${a.address}/${a.mask}" is not valid`, 'interface.IPAddresses');
    }
    cmds.push(['addr', 'add', `${a.address}/${a.mask}`, 'dev', dev]);
  }
  cmds.push(['link', 'set', 'dev', dev, 'up']);
  return cmds;
}

export function routeCommand(r: GuestRoute): string[] {
  const cmd = ['route', 'replace', r.dest && r.dest !== '' ? r.dest : 'default'];
  if (r.dest && !/^[0-9A-Fa-f.:/]+$/.test(r.dest) && r.dest !== 'default')
    throw bad(`route destination "${r.dest}" is not valid`, 'routes.dest');
  if (r.gateway) {
    if (!ADDR.test(r.gateway)) throw bad(`route gateway "${r.gateway}" is not valid`, 'routes.gateway');
    cmd.push('via', r.gateway);
  }
  if (r.device) {
    if (!NAME.test(r.device)) throw bad(`route device "${r.device}" is not valid`, 'routes.device');
    cmd.push('dev', r.device);
  }
  if (r.source) {
    if (!ADDR.test(r.source)) throw bad(`route source "${r.source}" is not valid`, 'routes.source');
    cmd.push('src', r.source);
  }
  if (r.scope === 253) cmd.push('scope', 'link');
  return cmd;
}

export async function updateInterface(iface: GuestInterface, sysRoot = '/sys'): Promise<GuestInterface> {
  const link = (iface.hwAddr ? linkByMac(iface.hwAddr, sysRoot) : undefined) ?? (iface.device || iface.name);
  if (!link)
    throw bad(`UpdateInterface: no link has MAC ${iface.hwAddr ?? '(none)'} and no name was given`, 'interface.hwAddr');
  for (const c of interfaceCommands(iface, link)) await runCommand('ip', c, { timeoutMs: 10_000 });
  return iface;
}

export async function updateRoutes(routes: readonly GuestRoute[]): Promise<void> {
  // link-scope routes first: gateways must be reachable before routes through them are added
  const ordered = [...routes].sort((a, b) => Number(Boolean(a.gateway)) - Number(Boolean(b.gateway)));
  for (const r of ordered) await runCommand('ip', routeCommand(r), { timeoutMs: 10_000 });
}

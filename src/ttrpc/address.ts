/**
 * Agent / shim addresses: `unix:///path`, `/path`, `hvsock://<uds path>:<port>`, `vsock://<cid>:<port>`.
 */
export type Address =
  | { kind: 'unix'; path: string }
  | { kind: 'hvsock'; path: string; port: number }
  | { kind: 'vsock'; cid: number; port: number };

function uint32(s: string, what: string, address: string): number {
  if (!/^\d+$/.test(s))
    throw new TypeError(`invalid ${what} ${JSON.stringify(s)} in address ${JSON.stringify(address)}`);
  const n = Number(s);
  if (n > 0xffffffff) throw new TypeError(`${what} ${n} out of range (uint32) in address ${JSON.stringify(address)}`);
  return n;
}

export function parseAddress(address: string): Address {
  if (address.startsWith('unix://')) {
    const path = address.slice('unix://'.length);
    if (!path) throw new TypeError(`empty unix socket path in address ${JSON.stringify(address)}`);
    return { kind: 'unix', path };
  }
  if (address.startsWith('/')) return { kind: 'unix', path: address };
  for (const scheme of ['hvsock://', 'vsock://'] as const) {
    if (!address.startsWith(scheme)) continue;
    const rest = address.slice(scheme.length);
    const i = rest.lastIndexOf(':');
    if (i <= 0)
      throw new TypeError(
        `address ${JSON.stringify(address)} must look like ${scheme}<${scheme === 'vsock://' ? 'cid' : 'path'}>:<port>`,
      );
    const port = uint32(rest.slice(i + 1), 'port', address);
    if (scheme === 'hvsock://') return { kind: 'hvsock', path: rest.slice(0, i), port };
    const cidText = rest.slice(0, i);
    const cid = cidText === '-1' ? 0xffffffff : uint32(cidText, 'cid', address);
    return { kind: 'vsock', cid, port };
  }
  throw new TypeError(`unsupported address ${JSON.stringify(address)}: expected unix://, hvsock:// or vsock://`);
}

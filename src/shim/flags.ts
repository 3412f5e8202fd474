/**
 * The shim's command line as containerd invokes it (Go `flag` syntax: `-flag value`, `-flag=value`, `--flag=value`,
 * boolean flags without a value), followed by an optional action: `start`, `delete`, or none (serve).
 */
export interface ShimFlags {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  debug: boolean;
  socket: string;
  version: boolean;
  action: 'start' | 'delete' | 'serve';
}

const STRING_FLAGS: Record<string, keyof ShimFlags> = {
  namespace: 'namespace',
  address: 'address',
  'publish-binary': 'publishBinary',
  id: 'id',
  bundle: 'bundle',
  socket: 'socket',
};
const BOOL_FLAGS: Record<string, keyof ShimFlags> = { debug: 'debug', v: 'version' };

export function parseShimFlags(argv: string[]): ShimFlags {
  const f: ShimFlags = {
    namespace: '',
    address: '',
    publishBinary: '',
    id: '',
    bundle: '',
    debug: false,
    socket: '',
    version: false,
    action: 'serve',
  };
  const rec = f as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      if (a === 'start' || a === 'delete') f.action = a;
      else throw new Error(`unknown action "${a}" (expected start or delete)`);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name in BOOL_FLAGS) {
      rec[BOOL_FLAGS[name]!] = eq >= 0 ? body.slice(eq + 1) !== 'false' : true;
    } else if (name in STRING_FLAGS) {
      const v = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`flag -${name} needs a value`);
      rec[STRING_FLAGS[name]!] = v;
    } else {
      throw new Error(`unknown flag -${name}`);
    }
  }
  return f;
}

/** The flags for re-executing ourselves as the serving daemon. */
export function daemonArgs(f: ShimFlags): string[] {
  const a = ['-namespace', f.namespace, '-id', f.id, '-address', f.address];
  if (f.publishBinary) a.push('-publish-binary', f.publishBinary);
  if (f.bundle) a.push('-bundle', f.bundle);
  if (f.debug) a.push('-debug');
  return a;
}

/**
 * Loads the .proto files under ./proto once (synchronously, on first use) into one protobufjs Root.
 *
 * The directory is found relative to this module, so it works from `src/protocols` (tsx, vitest) and from
 * `dist/src/protocols` once the build copies `src/protocols/proto` next to the compiled files.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** Every .proto file we ship, relative to the proto directory. */
export const PROTO_FILES: readonly string[] = [
  'wellknown/any.proto',
  'wellknown/timestamp.proto',
  'wellknown/empty.proto',
  'ttrpc.proto',
  'google/rpc/status.proto',
  'containerd/types/mount.proto',
  'containerd/types/task.proto',
  'containerd/types/event.proto',
  'containerd/cgroups/v2/metrics.proto',
  'containerd/task/v2/shim.proto',
  'containerd/events/task.proto',
  'containerd/services/events/ttrpc/v1/events.proto',
  'kata/types.proto',
  'kata/oci.proto',
  'kata/csi.proto',
  'kata/health.proto',
  'kata/agent.proto',
  'kubelet/podresources/v1/api.proto',
];

/** Absolute path of the directory holding the .proto files. */
export function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // CCGPU_PROTO_DIR: where a bundled program (the guest agent: /usr/share/ccgpu/proto) finds them
  const env = process.env.CCGPU_PROTO_DIR;
  const candidates = [
    ...(env ? [env] : []),
    path.join(here, 'proto'),
    path.resolve(here, '../../../src/protocols/proto'),
  ];
  for (const c of candidates) if (existsSync(path.join(c, 'ttrpc.proto'))) return c;
  throw new Error(
    `protocol definitions not found: looked for ttrpc.proto in ${candidates.join(' and ')} ` +
      '(the build must copy src/protocols/proto next to the compiled protocols module)',
  );
}

let cached: protobuf.Root | undefined;

/** The Root holding every message and service we know, loaded once. */
export function protoRoot(): protobuf.Root {
  if (cached) return cached;
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    // our well-known types live in wellknown/ (protobufjs' bundled JSON copies would keep snake_case names)
    return path.isAbsolute(target) ? target : path.join(dir, target);
  };
  root.loadSync(
    PROTO_FILES.map((f) => path.join(dir, f)),
    { keepCase: false },
  );
  root.resolveAll();
  cached = root;
  return root;
}

/** A message type by its full name (e.g. `containerd.task.v2.CreateTaskRequest`); throws naming it if unknown. */
export function lookupMessage(fullName: string): protobuf.Type {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  let t: protobuf.ReflectionObject | null = null;
  try {
    t = protoRoot().lookup(name);
  } catch {
    t = null;
  }
  if (!(t instanceof protobuf.Type)) throw new Error(`unknown protobuf message type "${name}"`);
  return t;
}

/** A service by its full name (e.g. `grpc.AgentService`); throws naming it if unknown. */
export function lookupService(fullName: string): protobuf.Service {
  let s: protobuf.ReflectionObject | null = null;
  try {
    s = protoRoot().lookup(fullName);
  } catch {
    s = null;
  }
  if (!(s instanceof protobuf.Service)) throw new Error(`unknown protobuf service "${fullName}"`);
  return s;
}

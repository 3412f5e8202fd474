/**
 * The Task service over gRPC (@grpc/grpc-js) for containerd 2.x: when the shim's `start` answers with the bootstrap
 * JSON `{"version":3,"address":"<path>","protocol":"grpc"}`, containerd dials the bare socket path and calls
 * `containerd.task.v3.Task/*`. The handlers are the same ones the ttrpc server uses.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, serviceMethods, type TaskHandlers } from '../protocols/index.js';
import { TASK_SERVICE_V2, TASK_SERVICE_V3 } from '../protocols/task.js';
import { Metadata, type CallContext } from '../ttrpc/index.js';
import { Code, errorCode, errorMessage } from '../errors/index.js';

export async function serveTaskOverGrpc(socketPath: string, handlers: TaskHandlers): Promise<grpc.Server> {
  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  const table = handlers as Record<string, ((req: unknown, ctx: CallContext) => Promise<unknown>) | undefined>;
  for (const m of serviceMethods(TASK_SERVICE_V2)) {
    definition[m.name] = {
      path: `/${TASK_SERVICE_V3}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: unknown) => Buffer.from(encodeMessage(m.requestType, v)),
      requestDeserialize: (b: Buffer) => decodeMessage(m.requestType, b),
      responseSerialize: (v: unknown) => Buffer.from(encodeMessage(m.responseType, v ?? {})),
      responseDeserialize: (b: Buffer) => decodeMessage(m.responseType, b),
    };
    impl[m.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const fn = table[m.name];
      if (!fn) return cb({ code: Code.Unimplemented, details: `method ${m.name}` });
      const md = new Metadata();
      for (const [k, v] of Object.entries(call.metadata.getMap())) md.append(k, String(v));
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      const deadline = call.getDeadline();
      const ctx: CallContext = {
        service: TASK_SERVICE_V3,
        method: m.name,
        streamId: 0,
        metadata: md,
        namespace: md.get('containerd-namespace') ?? md.get('containerd-namespace-ttrpc'),
        deadline:
          deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : undefined,
        signal: ac.signal,
      };
      fn(call.request, ctx).then(
        (res) => cb(null, res ?? {}),
        (e: unknown) => cb({ code: errorCode(e) || Code.Unknown, details: errorMessage(e) }),
      );
    };
  }
  server.addService(definition as grpc.ServiceDefinition, impl);
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  fs.chmodSync(socketPath, 0o600);
  return server;
}

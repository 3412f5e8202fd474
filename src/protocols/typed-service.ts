/**
 * Typed ttrpc services and clients generated from the loaded .proto service definitions: requests are decoded
 * into plain objects before the handler runs, responses encoded after; undecodable requests answer
 * InvalidArgument `unmarshal request error: ...` like Go ttrpc.
 */
import protobuf from 'protobufjs';
import { Code, errorMessage } from '../errors/index.js';
import {
  TtrpcError,
  type CallContext,
  type CallOptions,
  type RawMethod,
  type TtrpcClient,
  type TtrpcServer,
} from '../ttrpc/index.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { lookupService } from './loader.js';

/** Method name → [request, response]. */
export type MethodTable<M> = { [K in keyof M]: [unknown, unknown] };

/** Any field may be left out (proto3 defaults apply), at any depth. */
export type DeepPartial<T> = T extends Uint8Array
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/** Handlers: every method optional; a missing method answers Unimplemented `method <name>`. */
export type Handlers<M extends MethodTable<M>> = {
  [K in keyof M]?: (request: M[K][0], ctx: CallContext) => Promise<DeepPartial<M[K][1]>> | DeepPartial<M[K][1]>;
};

export interface MethodInfo {
  name: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
}

/** The unary methods of a service, resolved. */
export function serviceMethods(protoService: string): MethodInfo[] {
  const svc = lookupService(protoService);
  return svc.methodsArray.map((m) => {
    m.resolve();
    if (!m.resolvedRequestType || !m.resolvedResponseType)
      throw new Error(`cannot resolve types of ${protoService}/${m.name}`);
    return { name: m.name, requestType: m.resolvedRequestType, responseType: m.resolvedResponseType };
  });
}

/**
 * Register typed handlers on `server` under each of `serviceNames` (the wire names, e.g. both
 * `containerd.task.v2.Task` and `containerd.task.v3.Task`) using the methods of `protoService`.
 */
export function registerTypedService<M extends MethodTable<M>>(
  server: TtrpcServer,
  protoService: string,
  serviceNames: readonly string[],
  handlers: Handlers<M>,
): void {
  const methods = new Map(serviceMethods(protoService).map((m) => [m.name, m]));
  for (const name of Object.keys(handlers)) {
    if (!methods.has(name)) throw new TypeError(`${protoService} has no method "${name}"`);
  }
  const table: Record<string, RawMethod> = {};
  for (const [name, fn] of Object.entries(handlers) as Array<[string, (r: unknown, c: CallContext) => unknown]>) {
    if (typeof fn !== 'function') continue;
    const info = methods.get(name)!;
    table[name] = async (payload, ctx) => {
      let request: unknown;
      try {
        request = decodeMessage(info.requestType, payload);
      } catch (e) {
        throw new TtrpcError(Code.InvalidArgument, `unmarshal request error: ${errorMessage(e)}`);
      }
      const response = await fn(request, ctx);
      try {
        return encodeMessage(info.responseType, response ?? {});
      } catch (e) {
        throw new TtrpcError(Code.Internal, `${protoService}/${name}: invalid response: ${errorMessage(e)}`);
      }
    };
  }
  for (const s of serviceNames) server.register(s, table);
}

/** A typed client for one service: `await client.call('Create', {...})`. */
export class TypedClient<M extends MethodTable<M>> {
  private methodsCache: Map<string, MethodInfo> | undefined;

  constructor(
    readonly ttrpc: TtrpcClient,
    readonly protoService: string,
    /** Name sent on the wire (defaults to the proto service name). */
    readonly serviceName: string = protoService,
    readonly defaults: CallOptions = {},
  ) {}

  private get methods(): Map<string, MethodInfo> {
    this.methodsCache ??= new Map(serviceMethods(this.protoService).map((m) => [m.name, m]));
    return this.methodsCache;
  }

  async call<K extends keyof M & string>(
    method: K,
    request: DeepPartial<M[K][0]>,
    opts: CallOptions = {},
  ): Promise<M[K][1]> {
    const info = this.methods.get(method);
    if (!info) throw new TypeError(`${this.protoService} has no method "${method}"`);
    const bytes = encodeMessage(info.requestType, request ?? {});
    const res = await this.ttrpc.call(this.serviceName, method, bytes, { ...this.defaults, ...opts });
    try {
      return decodeMessage<M[K][1]>(info.responseType, res);
    } catch (e) {
      throw new TtrpcError(Code.Internal, `${this.serviceName}/${method}: cannot decode response: ${errorMessage(e)}`);
    }
  }
}

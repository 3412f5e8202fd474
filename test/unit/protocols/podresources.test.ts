import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  podResourcesServiceDefinition,
  type GetPodResourcesRequest,
  type GetPodResourcesResponse,
  type ListPodResourcesResponse,
} from '../../../src/protocols/index.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('kubelet PodResources v1 over real gRPC (unix socket)', () => {
  it('Get and List round-trip through a grpc-js server and client built from our .proto', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ccgpu-podres-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'kubelet.sock');
    const def = podResourcesServiceDefinition();
    expect(Object.keys(def).sort()).toEqual(['Get', 'GetAllocatableResources', 'List']);
    const pod = {
      name: 'gpu-pod',
      namespace: 'default',
      containers: [{ name: 'cuda', devices: [{ resourceName: 'nvidia.com/pgpu', deviceIds: ['65'] }], cpuIds: [2, 3] }],
    };
    const server = new grpc.Server();
    server.addService(def, {
      Get: (call: grpc.ServerUnaryCall<GetPodResourcesRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (call.request.podName !== 'gpu-pod') {
          cb({
            code: grpc.status.NOT_FOUND,
            details: `pod ${call.request.podNamespace}/${call.request.podName} not found`,
          });
          return;
        }
        cb(null, { podResources: pod });
      },
      List: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { podResources: [pod] }),
      GetAllocatableResources: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
    cleanups.push(() => server.forceShutdown());
    const Ctor = grpc.makeGenericClientConstructor(def, 'PodResourcesLister');
    const client = new Ctor(`unix:${sock}`, grpc.credentials.createInsecure()) as unknown as Record<
      string,
      (req: unknown, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void
    >;
    cleanups.push(() => (client as unknown as grpc.Client).close());
    const call = <T>(m: string, req: unknown): Promise<T> =>
      new Promise((resolve, reject) => client[m]!(req, (e, r) => (e ? reject(e) : resolve(r as T))));

    const got = await call<GetPodResourcesResponse>('Get', { podName: 'gpu-pod', podNamespace: 'default' });
    const c0 = got.podResources!.containers[0]!;
    expect(c0.devices[0]).toEqual({ resourceName: 'nvidia.com/pgpu', deviceIds: ['65'] });
    expect(c0.cpuIds).toEqual([2, 3]);
    expect(c0.dynamicResources).toEqual([]);
    // the CDI name kata forms from it
    expect(`${c0.devices[0]!.resourceName}=${c0.devices[0]!.deviceIds[0]}`).toBe('nvidia.com/pgpu=65');
    const list = await call<ListPodResourcesResponse>('List', {});
    expect(list.podResources.map((p) => p.name)).toEqual(['gpu-pod']);
    await expect(call('Get', { podName: 'x', podNamespace: 'default' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});

/** The Task service over gRPC (containerd 2.x bootstrap version 3). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { serveTaskOverGrpc } from '../../../src/shim/grpc-task-server.js';
import { bootstrapJson, wantsGrpc } from '../../../src/shim/start.js';
import { messageCodec } from '../../../src/protocols/index.js';
import { NotFoundError } from '../../../src/errors/index.js';

function call<Req, Res>(
  client: grpc.Client,
  method: string,
  req: Req,
  reqType: string,
  resType: string,
  md = new grpc.Metadata(),
): Promise<Res> {
  const rq = messageCodec<Req>(reqType);
  const rs = messageCodec<Res>(resType);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest<Req, Res>(
      `/containerd.task.v3.Task/${method}`,
      (v) => Buffer.from(rq.encode(v)),
      (b) => rs.decode(b),
      req,
      md,
      (err, v) => (err ? reject(err) : resolve(v!)),
    ),
  );
}

describe('Task over gRPC', () => {
  it('serves containerd.task.v3.Task with the ttrpc handlers, errors keep their codes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-grpc-'));
    const sock = path.join(dir, 's');
    let ns: string | undefined;
    const server = await serveTaskOverGrpc(sock, {
      Connect: async (req, ctx) => {
        ns = ctx.namespace;
        return { shimPid: 42, taskPid: 7, version: req.id };
      },
      State: async (req) => {
        throw new NotFoundError(`container ${req.id} not found`);
      },
    });
    expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
    const client = new grpc.Client(`unix:${sock}`, grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.set('containerd-namespace', 'k8s.io');
      const r = await call<{ id: string }, { shimPid: number; taskPid: number; version: string }>(
        client,
        'Connect',
        { id: 'v3' },
        'containerd.task.v2.ConnectRequest',
        'containerd.task.v2.ConnectResponse',
        md,
      );
      expect(r).toEqual({ shimPid: 42, taskPid: 7, version: 'v3' });
      expect(ns).toBe('k8s.io');
      await expect(
        call(client, 'State', { id: 'nope' }, 'containerd.task.v2.StateRequest', 'containerd.task.v2.StateResponse'),
      ).rejects.toMatchObject({ code: 5, details: 'container nope not found' });
      await expect(
        call(client, 'Pause', { id: 'x' }, 'containerd.task.v2.PauseRequest', 'containerd.task.v2.ConnectResponse'),
      ).rejects.toMatchObject({ code: 12 });
    } finally {
      client.close();
      server.forceShutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bootstrap JSON is version 3 with a bare path, only for containerd 2.x when asked', () => {
    expect(JSON.parse(bootstrapJson('/run/containerd/s/abc'))).toEqual({
      version: 3,
      address: '/run/containerd/s/abc',
      protocol: 'grpc',
    });
    expect(wantsGrpc({ CCGPU_SHIM_PROTOCOL: 'grpc', GRPC_ADDRESS: '/run/containerd/containerd.sock' })).toBe(true);
    expect(wantsGrpc({ CCGPU_SHIM_PROTOCOL: 'grpc' })).toBe(false);
    expect(wantsGrpc({ GRPC_ADDRESS: '/x' })).toBe(false);
  });
});

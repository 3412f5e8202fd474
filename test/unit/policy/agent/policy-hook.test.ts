/**
 * src/agent/policy-hook.ts: policy sources, decisions on decoded protobuf requests (the regorus-kata fixture
 * replay is in policy-input.test.ts), state, SetPolicy, fail-closed errors.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { decodeMessage, encodeMessage } from '../../../../src/protocols/index.js';
import { AgentPolicyHook, DEFAULT_POLICY_FILE } from '../../../../src/agent/policy-hook.js';
import { requestType } from '../../../../src/agent/policy-input.js';
import { Code } from '../../../../src/errors/index.js';

function captureLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      out.push(chunk.toString());
      cb();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function initdataDevice(policy: string | undefined): Buffer {
  const data = policy === undefined ? `"aa.toml" = "x"\n` : `"policy.rego" = '''\n${policy}'''\n`;
  const gz = gzipSync(Buffer.from(`version = "0.1.0"\nalgorithm = "sha256"\n[data]\n${data}`));
  const header = Buffer.alloc(16);
  header.write('initdata', 0, 'latin1');
  header.writeBigUInt64LE(BigInt(gz.length), 8);
  return Buffer.concat([header, gz, Buffer.alloc(4096)]);
}

const STATEFUL = `package agent_policy
import future.keywords.in
default CreateContainerRequest := false
default ExecProcessRequest := false
default SetPolicyRequest := true
default ReadStreamRequest := false
default GuestDetailsRequest := true

CreateContainerRequest := {"ops": [{"op": "add", "path": concat("", ["/pstate/", input.container_id]), "value": 0}], "allowed": true} if {
  print("create", input.container_id, input.OCI.Version)
  not input.container_id in object.keys(data.pstate)
}
ExecProcessRequest if {
  data.pstate[input.container_id] == 0
  is_null(input.string_user)
}
StatsContainerRequest := 1 if { true }
`;

function decoded(name: string, obj: Record<string, unknown>): Record<string, unknown> {
  const t = requestType(name);
  return decodeMessage(t, encodeMessage(t, obj));
}

describe('AgentPolicyHook', () => {
  it('with no policy anywhere allows everything and warns "no policy loaded"', async () => {
    if (existsSync(DEFAULT_POLICY_FILE) || process.env.KATA_AGENT_POLICY_FILE) {
      console.warn(`skipping the no-policy case: ${DEFAULT_POLICY_FILE} or KATA_AGENT_POLICY_FILE exists here`);
      return;
    }
    const cap = captureLogger();
    const hook = await AgentPolicyHook.fromSources({ logger: cap.logger });
    expect(hook.source).toBe('none');
    expect(await hook.allow('SetPolicyRequest', { policy: 'x' })).toEqual({ allowed: true });
    expect(cap.lines().some((l) => l.level === 40 && String(l.msg).includes('no policy loaded'))).toBe(true);
  });

  it('loads the policy file (module named after the path); an explicit missing file or bad policy is an error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-hook-'));
    const file = path.join(dir, 'default-policy.rego');
    writeFileSync(file, STATEFUL);
    const hook = await AgentPolicyHook.fromSources({ policyFile: file });
    expect(hook.source).toBe('file');
    const d = await hook.allow('CreateContainerRequest', decoded('CreateContainerRequest', { containerId: 'c1' }));
    expect(d).toEqual({ allowed: true });
    const again = await hook.allow('CreateContainerRequest', decoded('CreateContainerRequest', { containerId: 'c1' }));
    // the serde shape gives OCI = null, so print shows <undefined> for the missing Version
    expect(again).toEqual({
      allowed: false,
      code: Code.PermissionDenied,
      message: `CreateContainerRequest is blocked by policy: ${file}:10: create c1 <undefined>`,
    });
    await expect(AgentPolicyHook.fromSources({ policyFile: path.join(dir, 'missing.rego') })).rejects.toThrow(
      /cannot read policy file .*missing\.rego/,
    );
    writeFileSync(file, 'package agent_policy\nx if { regex.match("(", "a") }\n');
    await expect(AgentPolicyHook.fromSources({ policyFile: file })).rejects.toThrow(/regex|\(/);
  });

  it('initdata policy wins over the file; initdata without policy.rego falls back; a bad device is an error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-hook-'));
    const file = path.join(dir, 'allow-set-policy.rego');
    writeFileSync(file, 'package agent_policy\ndefault GuestDetailsRequest := false\n');
    const dev = path.join(dir, 'vdb');
    writeFileSync(dev, initdataDevice(STATEFUL));
    const hook = await AgentPolicyHook.fromSources({ policyFile: file, initdataDevice: dev });
    expect(hook.source).toBe('initdata');
    expect(await hook.allow('GuestDetailsRequest', {})).toEqual({ allowed: true });
    const fromBytes = await AgentPolicyHook.fromSources({ policyFile: file, initdataBytes: initdataDevice(undefined) });
    expect(fromBytes.source).toBe('file');
    expect((await fromBytes.allow('GuestDetailsRequest', {})).allowed).toBe(false);
    writeFileSync(dev, Buffer.from('not an initdata device at all'));
    await expect(AgentPolicyHook.fromSources({ policyFile: file, initdataDevice: dev })).rejects.toThrow(/vdb/);
  });

  it('keeps state across requests, resets it on setPolicy, and denies on evaluation errors', async () => {
    const hook = await AgentPolicyHook.fromSources({ initdataBytes: initdataDevice(STATEFUL) });
    expect(await hook.allow('ExecProcessRequest', decoded('ExecProcessRequest', { containerId: 'c1' }))).toMatchObject({
      allowed: false,
      code: Code.PermissionDenied,
    });
    await hook.allow('CreateContainerRequest', decoded('CreateContainerRequest', { containerId: 'c1' }));
    expect(await hook.allow('ExecProcessRequest', decoded('ExecProcessRequest', { containerId: 'c1' }))).toEqual({
      allowed: true,
    });
    // a string_user makes the sub-message non-null → denied
    const withUser = decoded('ExecProcessRequest', { containerId: 'c1', stringUser: { uid: '0' } });
    expect((await hook.allow('ExecProcessRequest', withUser)).allowed).toBe(false);
    // result of the wrong type → internal error, denied
    expect(await hook.allow('StatsContainerRequest', {})).toMatchObject({ allowed: false, code: Code.Internal });
    // no rule and no default → internal error, denied
    const none = await hook.allow('PauseContainerRequest', {});
    expect(none).toMatchObject({ allowed: false, code: Code.Internal });
    expect(none.allowed === false && none.message).toMatch(/^PauseContainerRequest: internal error/);
    // unknown request type / malformed request → denied, not thrown
    expect(await hook.allow('NoSuchRequest', {})).toMatchObject({ allowed: false, code: Code.Internal });
    expect(await hook.allow('ExecProcessRequest', { process: 42 })).toMatchObject({
      allowed: false,
      code: Code.Internal,
    });
    expect(await hook.allow('SetPolicyRequest', { policy: STATEFUL })).toEqual({ allowed: true });
    hook.setPolicy(STATEFUL);
    expect(hook.source).toBe('set-policy');
    expect((await hook.allow('ExecProcessRequest', decoded('ExecProcessRequest', { containerId: 'c1' }))).allowed).toBe(
      false,
    );
    expect(() => hook.setPolicy('package other\n')).toThrow(/agent_policy/);
    expect((await hook.allow('GuestDetailsRequest', {})).allowed).toBe(true);
  });

  it('writes the request log in the {"kind","request"} format, skipping ReadStream/SetPolicy/StatsContainer', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-hook-'));
    const log = path.join(dir, 'policy.jsonl');
    const hook = await AgentPolicyHook.fromSources({ initdataBytes: initdataDevice(STATEFUL), requestLog: log });
    await hook.allow('GuestDetailsRequest', { memBlockSize: true });
    await hook.allow('ReadStreamRequest', { containerId: 'c' });
    await hook.allow('SetPolicyRequest', { policy: 'secret-ish' });
    await hook.allow('GuestDetailsRequest', { memHotplugProbe: true });
    await hook.flushRequestLog();
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { kind: 'GuestDetailsRequest', request: { mem_block_size: true, mem_hotplug_probe: false } },
      { kind: 'GuestDetailsRequest', request: { mem_block_size: false, mem_hotplug_probe: true } },
    ]);
  });
});

describe('AgentPolicyHook: all 41 request types', () => {
  it('every request type converts from our protos and gets its default from a defaults-only policy', async () => {
    const { REQUEST_TYPES, UPSTREAM_DEFAULT_DECISIONS } = await import('../../../../policy/index.js');
    const policy =
      'package agent_policy\n' +
      REQUEST_TYPES.map((n) => `default ${n} := ${UPSTREAM_DEFAULT_DECISIONS[n]}`).join('\n') +
      '\n';
    const hook = await AgentPolicyHook.fromSources({ initdataBytes: initdataDevice(policy) });
    const got: Record<string, boolean> = {};
    const notInOurProtos: string[] = [];
    for (const n of REQUEST_TYPES) {
      let msg: Record<string, unknown>;
      try {
        msg = decoded(n, {});
      } catch {
        // the request has no message type in our agent.proto: the hook fails closed
        notInOurProtos.push(n);
        expect(await hook.allow(n, {})).toMatchObject({ allowed: false, code: Code.Internal });
        got[n] = UPSTREAM_DEFAULT_DECISIONS[n];
        continue;
      }
      const v = await hook.allow(n, msg);
      if (!v.allowed) expect(v.code, `${n}: ${v.message}`).toBe(Code.PermissionDenied);
      got[n] = v.allowed;
    }
    expect(got).toEqual(UPSTREAM_DEFAULT_DECISIONS);
    // upstream's newer GetDiagnosticData RPC is not in our agent.proto
    expect(notInOurProtos).toEqual(['GetDiagnosticDataRequest']);
    // a request type the policy does not know: internal error, denied (no AllowRequestsFailingPolicy here)
    const none = await AgentPolicyHook.fromSources({ initdataBytes: initdataDevice('package agent_policy\n') });
    expect(await none.allow('StartContainerRequest', {})).toMatchObject({ allowed: false, code: Code.Internal });
  });
});

/**
 * src/agent/policy-input.ts: the serde JSON shape of Kata agent requests, checked against every request the Rust
 * agent logged in the regorus-kata fixtures (serde JSON → our protobuf message → policy input must give back the
 * same JSON), plus the wire path (encode → decode → policy input).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AgentPolicy, parseRequestLog } from '../../../../policy/index.js';
import { decodeMessage, encodeMessage } from '../../../../src/protocols/index.js';
import {
  fromPolicyInput,
  policyEntryPoint,
  requestPolicyInput,
  requestType,
  toPolicyInput,
} from '../../../../src/agent/policy-input.js';

const root = path.resolve(import.meta.dirname, '../../../../../shared/vectors/policy/regorus-kata');
const have = existsSync(root);
if (!have) console.warn(`skipping policy-input fixture round trip: ${root} is missing`);

/**
 * Keys of the logged requests that our agent.proto does not have. The fixtures were recorded by an older agent:
 * its CopyFileRequest policy input carried `symlink_src` (today's PolicyCopyFileRequest has file_type and
 * symlink_target instead), and its WaitProcessRequest/ExecProcessRequest shapes are otherwise identical.
 */
const KEYS_MISSING_FROM_OUR_PROTO = new Set([
  'CopyFileRequest.symlink_src',
  // upstream types.proto names field 6 of Interface `pciPath`; ours calls it `devicePath` (listed below too)
  'UpdateInterfaceRequest.interface.pciPath',
]);

/**
 * Fields our proto has that the older logging agent did not (they appear with their default in our input).
 */
const FIELDS_NEWER_THAN_FIXTURES = new Set([
  'CopyFileRequest.data',
  'CreateContainerRequest.stderr_port',
  'CreateContainerRequest.stdin_port',
  'CreateContainerRequest.stdout_port',
  'CreateContainerRequest.storages[].shared',
  'CreateSandboxRequest.guest_userns',
  'CreateSandboxRequest.storages[].shared',
  'ExecProcessRequest.stderr_port',
  'ExecProcessRequest.stdin_port',
  'ExecProcessRequest.stdout_port',
  'UpdateInterfaceRequest.interface.devicePath',
  'UpdateRoutesRequest.routes.Routes[].flags',
]);

/** Deep comparison that reports paths instead of failing on the first difference. */
function diff(want: unknown, got: unknown, at: string, out: string[]): void {
  if (want === null || got === null || typeof want !== 'object' || typeof got !== 'object') {
    if (JSON.stringify(want) !== JSON.stringify(got))
      out.push(`${at}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    return;
  }
  if (Array.isArray(want) !== Array.isArray(got)) {
    out.push(`${at}: array vs object`);
    return;
  }
  if (Array.isArray(want)) {
    const g = got as unknown[];
    if (want.length !== g.length) out.push(`${at}: length ${want.length} vs ${g.length}`);
    want.forEach((w, i) => diff(w, g[i], `${at}[${i}]`, out));
    return;
  }
  const w = want as Record<string, unknown>;
  const g = got as Record<string, unknown>;
  for (const k of new Set([...Object.keys(w), ...Object.keys(g)])) {
    if (!(k in w)) out.push(`extra ${at}.${k}`);
    else if (!(k in g)) out.push(`missing ${at}.${k}`);
    else diff(w[k], g[k], `${at}.${k}`, out);
  }
}

const generic = (p: string): string => p.replace(/\[\d+\]/g, '[]');

describe.skipIf(!have)('policy input from protobuf requests (regorus-kata fixtures)', () => {
  const scenarios = have ? readdirSync(root).sort() : [];
  const requests = scenarios.flatMap((sc) =>
    parseRequestLog(readFileSync(path.join(root, sc, 'inputs.txt'), 'utf8'), `${sc}/inputs.txt`).map((r) => ({
      ...r,
      sc,
    })),
  );

  it('round-trips every logged request through our protobuf types', () => {
    const messages = requests.filter((r) => r.name !== 'AllowRequestsFailingPolicy');
    expect(messages.length).toBeGreaterThan(200);
    const unknown = new Set<string>();
    const newer = new Set<string>();
    const problems: string[] = [];
    for (const r of messages) {
      const type = requestType(r.name);
      const { object, unknownKeys } = fromPolicyInput(type, r.input as Record<string, unknown>);
      for (const k of unknownKeys) unknown.add(`${r.name}.${generic(k)}`);
      // through a real protobufjs message and the wire, as the agent receives it
      const msg = type.fromObject(object) as unknown as Record<string, unknown>;
      // a protobufjs Message instance converts the same as its decoded plain object
      expect(toPolicyInput(type, msg)).toEqual(
        toPolicyInput(type, type.toObject(type.fromObject(object), { defaults: true })),
      );
      const decoded = decodeMessage(type, encodeMessage(type, object));
      const got = toPolicyInput(type, decoded as Record<string, unknown>);
      const d: string[] = [];
      diff(r.input, got, r.name, d);
      for (const x of d) {
        if (x.startsWith('extra ')) newer.add(generic(x.slice(6)));
        else if (x.startsWith('missing ') && unknown.has(generic(x.slice(8)))) continue;
        else problems.push(`${r.sc}:${r.line}: ${x}`);
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
    expect([...unknown].sort()).toEqual([...KEYS_MISSING_FROM_OUR_PROTO].sort());
    expect([...newer].sort()).toEqual([...FIELDS_NEWER_THAN_FIXTURES].sort());
  });
});

/** Removes (generic) paths like `storages[].shared` from an input, in place. */
function strip(v: unknown, parts: string[]): void {
  if (v === null || typeof v !== 'object' || parts.length === 0) return;
  const [head, ...rest] = parts as [string, ...string[]];
  const arr = head.endsWith('[]');
  const key = arr ? head.slice(0, -2) : head;
  const o = v as Record<string, unknown>;
  if (rest.length === 0 && !arr) {
    delete o[key];
    return;
  }
  const next = o[key];
  if (arr && Array.isArray(next)) for (const e of next) strip(e, rest);
  else strip(next, rest);
}

describe.skipIf(!have)('policy decisions on converted requests (regorus-kata fixtures)', () => {
  it('every logged request, decoded from protobuf and converted, gets the logged decision', () => {
    for (const sc of readdirSync(root).sort()) {
      const dir = path.join(root, sc);
      const policy = AgentPolicy.fromRego(readFileSync(path.join(dir, 'policy.rego'), 'utf8'));
      const outputs = JSON.parse(readFileSync(path.join(dir, 'outputs.json'), 'utf8')) as unknown[];
      const requests = parseRequestLog(readFileSync(path.join(dir, 'inputs.txt'), 'utf8'), `${sc}/inputs.txt`);
      const got = requests.map((r) => {
        if (r.name === 'AllowRequestsFailingPolicy') return policy.allowRequestsFailingPolicy;
        const type = requestType(r.name);
        const msg = decodeMessage(
          type,
          encodeMessage(type, fromPolicyInput(type, r.input as Record<string, unknown>).object),
        ) as Record<string, unknown>;
        // the fixtures log CopyFile's pre-processed input of an older agent (symlink target in symlink_src)
        if (r.name === 'CopyFileRequest')
          msg['data'] = Buffer.from((r.input as { symlink_src?: string }).symlink_src ?? '');
        const input = requestPolicyInput(r.name, msg);
        // the old policies compare whole storage objects: drop the fields their agent did not have
        for (const f of FIELDS_NEWER_THAN_FIXTURES)
          if (f.startsWith(`${r.name}.`)) strip(input, f.slice(r.name.length + 1).split('.'));
        return policy.evaluateSync(r.name, input).allowed;
      });
      expect(got, sc).toEqual(outputs);
    }
  });
});

describe('policy input shape', () => {
  it('fills defaults, keeps proto spelling, renames type, integers for enums and int64, null sub-messages', () => {
    const got = requestPolicyInput('CreateSandboxRequest', { sandboxPidns: false });
    expect(got).toEqual({
      hostname: '',
      dns: [],
      storages: [],
      sandbox_pidns: false,
      sandbox_id: '',
      guest_hook_path: '',
      kernel_modules: [],
      guest_userns: false,
    });
    const iface = requestPolicyInput('UpdateInterfaceRequest', {
      interface: { device: 'eth0', hwAddr: 'aa', IPAddresses: [{ family: 'v6', address: '::1' }], type: 'veth' },
    });
    expect(iface['interface']).toMatchObject({
      hwAddr: 'aa',
      IPAddresses: [{ family: 1, address: '::1', mask: '' }],
      type_: 'veth',
      raw_flags: 0,
    });
    const exec = requestPolicyInput('ExecProcessRequest', { containerId: 'c' });
    expect(exec['process']).toBeNull();
    expect(exec['string_user']).toBeNull();
  });

  it('converts bytes to arrays of numbers and 64-bit integers to numbers', () => {
    const type = requestType('WriteStreamRequest');
    const wire = encodeMessage(type, { containerId: 'c', execId: 'e', data: Buffer.from('hi') });
    expect(toPolicyInput(type, decodeMessage(type, wire) as Record<string, unknown>)).toEqual({
      container_id: 'c',
      exec_id: 'e',
      data: [104, 105],
    });
    const sw = requestPolicyInput('SetGuestDateTimeRequest', { Sec: 1_700_000_000_123, Usec: 5 });
    expect(sw).toEqual({ Sec: 1_700_000_000_123, Usec: 5 });
  });

  it('pre-processes CopyFileRequest: no contents, file type and symlink target', () => {
    const reg = requestPolicyInput('CopyFileRequest', {
      path: '/run/x',
      fileMode: 0o100644,
      fileSize: 3,
      data: Buffer.from('abc'),
    });
    expect(reg).toMatchObject({ path: '/run/x', file_type: 'Regular', symlink_target: null, file_size: 3 });
    expect(reg).not.toHaveProperty('data');
    const link = requestPolicyInput('CopyFileRequest', {
      path: '/run/l',
      fileMode: 0o120777,
      data: Buffer.from('../t'),
    });
    expect(link).toMatchObject({ file_type: 'Symlink', symlink_target: '../t' });
    expect(() =>
      requestPolicyInput('CopyFileRequest', { path: '/run/l', fileMode: 0o120777, data: Buffer.from([0xff, 0xfe]) }),
    ).toThrow(/not valid UTF-8/);
  });

  it('maps AgentService methods to their policy entry points', () => {
    expect(policyEntryPoint('CreateContainer')).toBe('CreateContainerRequest');
    expect(policyEntryPoint('ReadStdout')).toBe('ReadStreamRequest');
    expect(policyEntryPoint('ReadStderr')).toBe('ReadStreamRequest');
    expect(policyEntryPoint('WriteStdin')).toBe('WriteStreamRequest');
    expect(policyEntryPoint('MemAgentMemcgSet')).toBe('MemAgentMemcgConfig');
    expect(policyEntryPoint('MemAgentCompactSet')).toBe('MemAgentCompactConfig');
    expect(() => policyEntryPoint('Nope')).toThrow(/grpc.AgentService has no method "Nope"/);
  });

  it('rejects values that do not fit the message and unknown request types, naming them', () => {
    expect(() => requestPolicyInput('ExecProcessRequest', { process: 'x' })).toThrow(/ExecProcessRequest\.process/);
    expect(() => requestPolicyInput('NoSuchRequest', {})).toThrow(/NoSuchRequest/);
  });
});

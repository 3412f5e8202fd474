/** Volumes (emptyDir, configMap, secret, hostPath) and NVIDIA GPU (VFIO) devices: generated entries and decisions. */
import { describe, expect, it } from 'vitest';
import {
  StaticImageSource,
  generatePolicies,
  loadSettings,
  type GenerateResult,
} from '../../../../policy/genpolicy/index.js';
import { loadDefaultRules } from '../../../../policy/rules/index.js';
import { AgentLike, readKataInputs, settingsWithDropIns } from './helpers.js';

const IMAGE = {
  manifestDigest: 'sha256:' + '0'.repeat(64),
  config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
  passwd: 'root:x:0:0:root:/root:/bin/sh\n',
  group: 'root:x:0:\nwheel:x:10:root\n',
};

const pod = (extraContainer: string, extraSpec: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: b}
---
apiVersion: v1
kind: Pod
metadata:
  name: policy-pod
  namespace: kata-containers-k8s-tests
spec:
${extraSpec}  containers:
    - name: busybox
      image: quay.io/prometheus/busybox:latest
      command: ["sh"]
      env:
        - {name: KUBE_CONFIG_1, value: value-1}
        - {name: KUBE_CONFIG_2, value: value-2}
${extraContainer}`;

const VOLUMES = pod(
  `      volumeMounts:
        - {name: scratch, mountPath: /scratch}
        - {name: cfg, mountPath: /etc/cfg}
        - {name: host, mountPath: /data, readOnly: true}
`,
  `  volumes:
    - {name: scratch, emptyDir: {}}
    - {name: cfg, configMap: {name: cm}}
    - {name: host, hostPath: {path: /srv/data}}
`,
);
const GPU = pod('      resources:\n        limits:\n          nvidia.com/pgpu: 1\n', '');

async function gen(yaml: string): Promise<GenerateResult> {
  const { settings } = loadSettings(settingsWithDropIns(['10-non-coco-drop-in.json']));
  return generatePolicies({
    yamlText: yaml,
    settings,
    rules: loadDefaultRules(),
    images: new StaticImageSource({ 'quay.io/prometheus/busybox:latest': IMAGE }),
  });
}

function agentFor(r: GenerateResult): AgentLike {
  return new AgentLike(r.policies[0]!.policy);
}

const creates = readKataInputs('k8s-policy-pod').filter((x) => x.ep === 'CreateContainerRequest');
type Req = {
  container_id: string;
  devices: unknown[];
  storages: unknown[];
  OCI: { Mounts: unknown[]; Annotations: Record<string, string> };
};
const busybox = () => structuredClone(creates[1]!.input) as unknown as Req;
const sandboxId = 'e4bd2a97acb81f9ea31d49e21ef2675bcd8bf6883d3cd4273d6d4fb2f6fcbba2';
const cpath = '/run/kata-containers/shared/containers';

describe('volumes', () => {
  it('generates mounts and storages from the settings templates', async () => {
    const r = await gen(VOLUMES);
    const c = r.policies[0]!.policyData.containers[1]!;
    const byDest = Object.fromEntries(c.OCI.Mounts.map((m) => [m.destination, m]));
    expect(byDest['/scratch']).toEqual({
      destination: '/scratch',
      source: '^$(cpath)/$(sandbox-id)/rootfs/local/scratch$',
      type_: 'local',
      options: ['rbind', 'rprivate', 'rw'],
    });
    expect(byDest['/etc/cfg']).toEqual({
      destination: '/etc/cfg',
      source: '$(sfprefix)cfg$',
      type_: 'bind',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(byDest['/data']).toEqual({
      destination: '/data',
      source: '$(sfprefix)data$',
      type_: 'bind',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(c.storages).toEqual([
      {
        driver: 'local',
        driver_options: [],
        source: 'local',
        fstype: 'local',
        options: ['mode=0777'],
        mount_point: '^$(cpath)/$(sandbox-id)/rootfs/local/scratch$',
        fs_group: null,
      },
    ]);
  });

  it('allows the container with its volumes and denies a volume the pod does not have', async () => {
    const agent = agentFor(await gen(VOLUMES));
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
    const req = busybox();
    const bundle = req.container_id;
    req.OCI.Mounts.push(
      {
        destination: '/scratch',
        source: `${cpath}/${sandboxId}/rootfs/local/scratch`,
        type_: 'local',
        options: ['rbind', 'rprivate', 'rw'],
      },
      {
        destination: '/etc/cfg',
        source: `${cpath}/${bundle}-0123456789abcdef-cfg`,
        type_: 'bind',
        options: ['rbind', 'rprivate', 'ro'],
      },
      {
        destination: '/data',
        source: `${cpath}/${bundle}-fedcba9876543210-data`,
        type_: 'bind',
        options: ['rbind', 'rprivate', 'ro'],
      },
    );
    req.storages.push({
      driver: 'local',
      driver_options: [],
      source: 'local',
      fstype: 'local',
      options: ['mode=0777'],
      mount_point: `${cpath}/${sandboxId}/rootfs/local/scratch`,
      fs_group: null,
    });
    expect(agent.decide('CreateContainerRequest', req)).toBe(true);
    const rw = structuredClone(req);
    (rw.OCI.Mounts[rw.OCI.Mounts.length - 1] as { options: string[] }).options = ['rbind', 'rprivate', 'rw'];
    expect(agent.decide('CreateContainerRequest', rw)).toBe(false);
    const other = structuredClone(req);
    other.OCI.Mounts.push({
      destination: '/etc/other',
      source: `${cpath}/${bundle}-0123456789abcdef-other`,
      type_: 'bind',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(agent.decide('CreateContainerRequest', other)).toBe(false);
    const foreign = structuredClone(req);
    (foreign.OCI.Mounts[foreign.OCI.Mounts.length - 2] as { source: string }).source =
      `${cpath}/${'b'.repeat(64)}-0123456789abcdef-cfg`;
    expect(agent.decide('CreateContainerRequest', foreign)).toBe(false);
  });
});

describe('NVIDIA GPU (VFIO) devices', () => {
  const vfio = (n: number) => ({
    id: `0000:0${n}:00.0`,
    type_: 'vfio-pci-gk',
    vm_path: '',
    container_path: `/dev/vfio/${10 + n}`,
    options: [`0000:0${n}:00.0=02/00`],
  });

  it('expects one VFIO device per requested GPU and allows the CDI annotation', async () => {
    const r = await gen(GPU);
    expect(r.policies[0]!.policyData.containers[1]!.devices).toEqual([
      { id: '', type_: 'vfio-pci-gk', vm_path: '', container_path: '/dev/vfio/', options: [] },
    ]);
    const agent = agentFor(r);
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
    const req = busybox();
    req.devices = [vfio(1)];
    req.OCI.Annotations['cdi.k8s.io/vfio11'] = 'nvidia.com/gpu=0';
    expect(agent.decide('CreateContainerRequest', req)).toBe(true);
    const two = structuredClone(req);
    two.devices.push(vfio(2));
    expect(agent.decide('CreateContainerRequest', two)).toBe(false);
    const orphan = structuredClone(req);
    orphan.OCI.Annotations['cdi.k8s.io/vfio12'] = 'nvidia.com/gpu=1';
    expect(agent.decide('CreateContainerRequest', orphan)).toBe(false); // CDI annotation without its device
    const hostKind = structuredClone(req);
    hostKind.OCI.Annotations['cdi.k8s.io/vfio11'] = 'nvidia.com/pgpu=0';
    expect(agent.decide('CreateContainerRequest', hostKind)).toBe(false);
    const blk = structuredClone(req);
    blk.devices = [{ ...vfio(1), type_: 'blk', container_path: '/dev/vda' }];
    expect(agent.decide('CreateContainerRequest', blk)).toBe(false);
  });

  it('a pod without GPUs gets no devices: a VFIO device is denied', async () => {
    const agent = agentFor(await gen(pod('', '')));
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
    const req = busybox();
    req.devices = [vfio(1)];
    expect(agent.decide('CreateContainerRequest', req)).toBe(false);
    expect(agent.decide('CreateContainerRequest', busybox())).toBe(true);
  });
});

describe('guest pull (CoCo default settings)', () => {
  async function cocoAgent(): Promise<AgentLike> {
    const { settings } = loadSettings(settingsWithDropIns([]));
    const r = await generatePolicies({
      yamlText: pod('', ''),
      settings,
      rules: loadDefaultRules(),
      images: new StaticImageSource({ 'quay.io/prometheus/busybox:latest': { ...IMAGE, group: 'root:x:0:\n' } }),
    });
    return new AgentLike(r.policies[0]!.policy);
  }
  const pulled = (r: LoggedInput, image: string): LoggedInput => {
    const x = structuredClone(r);
    const id = x.container_id;
    x.OCI.Root.Path = `/run/kata-containers/${id}/rootfs`;
    x.OCI.Process.User.AdditionalGids = x.OCI.Process.User.AdditionalGids.filter((g) => g !== 10);
    x.storages = [
      {
        driver: 'image_guest_pull',
        driver_options: ['image_guest_pull={"metadata":{"io.kubernetes.cri.container-type":"container"}}'],
        source: image,
        fstype: 'overlay',
        options: [],
        mount_point: `/run/kata-containers/${id}/rootfs`,
        fs_group: null,
        shared: false,
      },
    ];
    return x;
  };
  type LoggedInput = {
    container_id: string;
    storages: Record<string, unknown>[];
    OCI: { Root: { Path: string }; Process: { User: { AdditionalGids: number[] } } };
  };
  const pause = () =>
    pulled(structuredClone(creates[0]!.input) as unknown as LoggedInput, 'registry.k8s.io/pause:3.10');
  const bb = () => pulled(busybox() as unknown as LoggedInput, 'quay.io/prometheus/busybox:latest');

  it('requires the guest-pull storage of the policy image at the container rootfs', async () => {
    const agent = await cocoAgent();
    expect(agent.decide('CreateContainerRequest', pause())).toBe(true);
    expect(agent.decide('CreateContainerRequest', bb())).toBe(true);
    const noStorage = bb();
    noStorage.storages = [];
    expect(agent.decide('CreateContainerRequest', noStorage)).toBe(false);
    const otherImage = bb();
    otherImage.storages[0]!.source = 'quay.io/evil/busybox:latest';
    expect(agent.decide('CreateContainerRequest', otherImage)).toBe(false);
    const otherPlace = bb();
    otherPlace.storages[0]!.mount_point = '/run/kata-containers/shared/containers/x';
    expect(agent.decide('CreateContainerRequest', otherPlace)).toBe(false);
    // the shared-fs rootfs of a non-CoCo request is not accepted
    expect(agent.decide('CreateContainerRequest', creates[1]!.input)).toBe(false);
  });
});

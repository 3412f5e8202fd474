/** YAML kinds, annotation placement, -y style round trip, unsupported fields, runtime class selection. */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  GenpolicyError,
  StaticImageSource,
  decodeInitdataAnnotation,
  generatePolicies,
  loadSettings,
  parseK8sYaml,
  sandboxNamePattern,
} from '../../../../policy/genpolicy/index.js';
import { settingsWithDropIns } from './helpers.js';

const IMAGE = {
  manifestDigest: 'sha256:' + '1'.repeat(64),
  config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
  passwd: 'root:x:0:0::/root:/bin/sh\n',
  group: 'root:x:0:\n',
};
const images = new StaticImageSource({ 'registry.example/busybox:1': IMAGE });
const { settings } = loadSettings(settingsWithDropIns(['10-non-coco-drop-in.json']));
const RULES = 'package agent_policy\n\ndefault AllowRequestsFailingPolicy := false\n';

const containerYaml = (indent: string) =>
  `${indent}containers:\n${indent}  - name: c\n${indent}    image: registry.example/busybox:1\n`;

function workload(kind: string, apiVersion: string, templatePrefix: string, extraSpec = ''): string {
  const ind = ' '.repeat(templatePrefix.split('.').length * 2 + 2);
  void ind;
  switch (kind) {
    case 'CronJob':
      return `apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: cj\nspec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n        # pod template comment\n        spec:\n          restartPolicy: Never\n${containerYaml('          ')}`;
    default:
      return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: w\n  namespace: ns1\nspec:\n${extraSpec}  template:\n    metadata:\n      labels: {app: w}\n    spec:\n${containerYaml('      ')}`;
  }
}

async function gen(yaml: string, extra: Partial<Parameters<typeof generatePolicies>[0]> = {}) {
  return generatePolicies({ yamlText: yaml, yamlFile: 'pod.yaml', settings, rules: RULES, images, ...extra });
}

function annotationsAt(yaml: string, docIndex: number, path: (string | number)[]): Record<string, string> {
  const doc = (parseAllDocuments(yaml) as ReturnType<typeof parseAllDocuments> & unknown[])[docIndex] as {
    toJSON(): unknown;
  };
  let cur: unknown = doc.toJSON();
  for (const k of path) cur = (cur as Record<string | number, unknown>)[k];
  return (cur as { annotations: Record<string, string> }).annotations;
}

describe('resource kinds', () => {
  it("puts the initdata annotation on a Pod's metadata and keeps comments and other documents", async () => {
    const yaml = `# leading comment\napiVersion: v1\nkind: Pod\nmetadata:\n  name: one-container\n  annotations:\n    keep: me\nspec:\n${containerYaml('  ')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports: [{port: 80}]\n`;
    const r = await gen(yaml);
    expect(r.policies).toHaveLength(1);
    expect(r.yaml.startsWith('# leading comment\n')).toBe(true);
    const ann = annotationsAt(r.yaml, 0, ['metadata']);
    expect(ann.keep).toBe('me');
    const initdata = decodeInitdataAnnotation(ann['io.katacontainers.config.hypervisor.cc_init_data']!);
    expect(initdata.version).toBe('0.1.0');
    expect(initdata.algorithm).toBe('sha256');
    expect(initdata.data['policy.rego']).toBe(r.policies[0]!.policy);
    expect(r.yaml).toContain('kind: Service');
    const pd = r.policies[0]!.policyData;
    expect(pd.containers[0]!.OCI.Process.Args).toEqual(['/pause']);
    expect(pd.containers[0]!.OCI.Annotations['io.kubernetes.cri.sandbox-name']).toBe('^one\\-container$');
    expect(pd.containers[1]!.OCI.Process.Args).toEqual(['sh']);
  });

  for (const [kind, api, path] of [
    ['Deployment', 'apps/v1', ['spec', 'template', 'metadata']],
    ['DaemonSet', 'apps/v1', ['spec', 'template', 'metadata']],
    ['ReplicaSet', 'apps/v1', ['spec', 'template', 'metadata']],
    ['StatefulSet', 'apps/v1', ['spec', 'template', 'metadata']],
    ['Job', 'batch/v1', ['spec', 'template', 'metadata']],
    ['ReplicationController', 'v1', ['spec', 'template', 'metadata']],
    ['CronJob', 'batch/v1', ['spec', 'jobTemplate', 'spec', 'template', 'metadata']],
  ] as const) {
    it(`annotates the pod template of a ${kind}`, async () => {
      const r = await gen(workload(kind, api, ''));
      const ann = annotationsAt(r.yaml, 0, [...path]);
      expect(Object.keys(ann)).toEqual(['io.katacontainers.config.hypervisor.cc_init_data']);
      expect(
        decodeInitdataAnnotation(ann['io.katacontainers.config.hypervisor.cc_init_data']!).data['policy.rego'],
      ).toContain('policy_data := ');
      if (kind === 'CronJob') expect(r.yaml).toContain('# pod template comment');
    });
  }

  it('expands List items', async () => {
    const yaml = `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a}\n    spec:\n      containers: [{name: c, image: registry.example/busybox:1}]\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: b}\n    spec:\n      containers: [{name: c, image: registry.example/busybox:1}]\n`;
    const r = await gen(yaml);
    expect(r.policies.map((p) => p.resource)).toEqual(['Pod "a"', 'Pod "b"']);
    expect(annotationsAt(r.yaml, 0, ['items', 1, 'metadata'])['io.katacontainers.config.hypervisor.cc_init_data']).toBe(
      r.policies[1]!.annotationValue,
    );
  });

  it('fails on an unknown kind, naming it', () => {
    expect(() => parseK8sYaml('apiVersion: x/v1\nkind: Widget\nmetadata: {name: w}\n', { file: 'w.yaml' })).toThrow(
      /w\.yaml: document 1: kind "Widget" is not supported/,
    );
  });

  it('fails on an unsupported field unless -s', async () => {
    const yaml = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  dnsPolicyy: Default\n${containerYaml('  ')}`;
    await expect(gen(yaml)).rejects.toThrow(/spec\.dnsPolicyy is not a supported field \(use -s/);
    await expect(gen(yaml, { silentUnsupportedFields: true })).resolves.toBeDefined();
  });

  it('leaves resources whose runtimeClassName does not match --runtime-class-names untouched', async () => {
    const a = `apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  runtimeClassName: kata-qemu-nvidia-gpu-snp\n${containerYaml('  ')}`;
    const b = `apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  runtimeClassName: runc\n${containerYaml('  ')}`;
    const r = await gen(`${a}---\n${b}`, { runtimeClassNames: ['kata'] });
    expect(r.policies.map((p) => p.resource)).toEqual(['Pod "a"']);
    expect(r.skipped).toEqual(['Pod "b"']);
    const docs = parseAllDocuments(r.yaml) as unknown as { toJSON(): unknown }[];
    expect(docs[1]!.toJSON()).toEqual((parseAllDocuments(b) as unknown as { toJSON(): unknown }[])[0]!.toJSON());
  });

  it('writes the legacy annotation (base64 policy text) with legacyAnnotation', async () => {
    const r = await gen(`apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n${containerYaml('  ')}`, {
      legacyAnnotation: true,
    });
    const ann = annotationsAt(r.yaml, 0, ['metadata']);
    expect(Buffer.from(ann['io.katacontainers.config.agent.policy']!, 'base64').toString('utf8')).toBe(
      r.policies[0]!.policy,
    );
    expect(ann['io.katacontainers.config.hypervisor.cc_init_data']).toBeUndefined();
  });

  it('orders containers pause, init containers reversed, then containers', async () => {
    const yaml = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n    - {name: i1, image: registry.example/busybox:1, command: [one]}\n    - {name: i2, image: registry.example/busybox:1, command: [two]}\n  containers:\n    - {name: c, image: registry.example/busybox:1, command: [main]}\n`;
    const r = await gen(yaml);
    expect(r.policies[0]!.policyData.containers.map((c) => c.OCI.Process.Args[0])).toEqual([
      '/pause',
      'two',
      'one',
      'main',
    ]);
  });
});

describe('sandbox names', () => {
  it('is exact for a Pod and a pattern for controllers', () => {
    const re = (k: string, name: string) => new RegExp(sandboxNamePattern(k, { name }, {}));
    expect(re('Pod', 'web.1').test('web.1')).toBe(true);
    expect(re('Pod', 'web.1').test('webx1')).toBe(false);
    expect(re('Deployment', 'web').test('web-5d8f7b9c4-x7k2p')).toBe(true);
    expect(re('StatefulSet', 'db').test('db-0')).toBe(true);
    expect(re('Job', 'j').test('j-abcde')).toBe(true);
    expect(re('Job', 'j').test('jx-abcde')).toBe(false);
    expect(new RegExp(sandboxNamePattern('Pod', { generateName: 'gen-' }, {})).test('gen-a1b2c')).toBe(true);
  });
});

describe('config maps and secrets', () => {
  const pod = (env: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: registry.example/busybox:1\n      env:\n${env}`;
  const cmRef =
    '        - name: A\n          valueFrom: {configMapKeyRef: {name: cm, key: k}}\n        - name: B\n          valueFrom: {secretKeyRef: {name: sec, key: s}}\n        - name: C\n          value: "x-$(A)-$$(A)"\n';
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {k: from-cm}\n';
  const sec = `apiVersion: v1\nkind: Secret\nmetadata: {name: sec}\ndata: {s: ${Buffer.from('from-secret').toString('base64')}}\n`;

  it('fails when a referenced ConfigMap is missing and succeeds when given inline or with --config-file', async () => {
    await expect(gen(pod(cmRef))).rejects.toThrow(/ConfigMap "cm" was not supplied/);
    const inline = await gen(`${cm}---\n${sec}---\n${pod(cmRef)}`);
    const env = inline.policies[0]!.policyData.containers[1]!.OCI.Process.Env;
    expect(env).toEqual(['PATH=/bin', 'HOSTNAME=$(host-name)', 'A=from-cm', 'B=from-secret', 'C=x-from-cm-$(A)']);
    const viaFile = await gen(pod(cmRef), { configFiles: [{ file: 'cm.yaml', text: `${cm}---\n${sec}` }] });
    expect(viaFile.policies[0]!.policyData.containers[1]!.OCI.Process.Env).toEqual(env);
  });

  it('maps downward API fields to run-time placeholders', async () => {
    const r = await gen(
      pod(
        '        - name: N\n          valueFrom: {fieldRef: {fieldPath: metadata.name}}\n        - name: IP\n          valueFrom: {fieldRef: {fieldPath: status.podIP}}\n',
      ),
    );
    expect(r.policies[0]!.policyData.containers[1]!.OCI.Process.Env.slice(2)).toEqual([
      'N=$(sandbox-name)',
      'IP=$(pod-ip)',
    ]);
  });
});

describe('errors name the place', () => {
  it('a volume mount without a volume', async () => {
    const yaml = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: registry.example/busybox:1\n      volumeMounts: [{name: nope, mountPath: /x}]\n`;
    await expect(gen(yaml)).rejects.toThrow(GenpolicyError);
    await expect(gen(yaml)).rejects.toThrow(
      /Pod "p": containers\[0\] "c".volumeMounts\[0\]: volume "nope" is not defined/,
    );
  });
});

describe('security context', () => {
  const yaml = (sc: string, podSc = '', extra = '') =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n${podSc}  containers:\n    - name: c\n      image: registry.example/busybox:1\n${extra}      securityContext:\n${sc}`;
  const first = async (y: string) => (await gen(y)).policies[0]!.policyData.containers[1]!.OCI;

  it('privileged: privileged caps, writable sysfs and cgroup, nothing masked', async () => {
    const oci = await first(yaml('        privileged: true\n'));
    expect(oci.Process.Capabilities.Bounding).toEqual(['$(privileged_caps)']);
    expect(oci.Mounts.find((m) => m.destination === '/sys')!.options).toContain('rw');
    expect(oci.Mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options).toContain('rw');
    expect(oci.Linux.MaskedPaths).toEqual([]);
    expect(oci.Process.NoNewPrivileges).toBe(false);
  });

  it('capabilities add/drop, read-only root, no privilege escalation, pod sysctls', async () => {
    const oci = await first(
      yaml(
        '        capabilities: {add: [NET_ADMIN], drop: [KILL, CAP_CHOWN]}\n        readOnlyRootFilesystem: true\n        allowPrivilegeEscalation: false\n',
        '  securityContext:\n    sysctls: [{name: net.core.somaxconn, value: "1024"}]\n',
      ),
    );
    expect(oci.Process.Capabilities.Effective).toContain('CAP_NET_ADMIN');
    expect(oci.Process.Capabilities.Effective).not.toContain('CAP_KILL');
    expect(oci.Process.Capabilities.Effective).not.toContain('CAP_CHOWN');
    expect(oci.Process.Capabilities.Ambient).toEqual([]);
    expect(oci.Root.Readonly).toBe(true);
    expect(oci.Process.NoNewPrivileges).toBe(true);
    expect(oci.Linux.Sysctl).toEqual({ 'net.core.somaxconn': '1024' });
    const dropAll = await first(yaml('        capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}\n'));
    expect(dropAll.Process.Capabilities.Bounding).toEqual(['CAP_NET_BIND_SERVICE']);
  });

  it('probes and lifecycle hooks become exec_commands; envFrom adds prefixed keys in order', async () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {b: "2", a: "1"}\n---\n';
    const r = await gen(
      cm +
        yaml(
          '        runAsUser: 1000\n',
          '',
          '      envFrom: [{configMapRef: {name: cm}, prefix: P_}]\n      livenessProbe: {exec: {command: [cat, /tmp/ok]}}\n      lifecycle: {preStop: {exec: {command: [sh, -c, "kill 1"]}}}\n',
        ),
    );
    const c = r.policies[0]!.policyData.containers[1]!;
    expect(c.exec_commands).toEqual([
      ['cat', '/tmp/ok'],
      ['sh', '-c', 'kill 1'],
    ]);
    expect(c.OCI.Process.Env).toEqual(['PATH=/bin', 'HOSTNAME=$(host-name)', 'P_a=1', 'P_b=2']);
    expect(c.OCI.Process.User).toEqual({ UID: 1000, GID: 0, AdditionalGids: [0], Username: '' });
  });
});

/**
 * `ccgpu policy generate` end to end, offline: a local docker-registry seeded with busybox-based images built
 * by the test, the real CLI process (-y in place, -j settings dir with drop-ins, --insecure-registry, layer
 * cache, -r/-b, --config-file, -s), guest-pull user checks, and the generated policy evaluated with real Kata
 * requests (image name pointed at the local registry).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { RegistryClient } from '../../../policy/oci/index.js';
import { decodeInitdataAnnotation } from '../../../policy/genpolicy/index.js';
import { AgentLike, readKataInputs, repoRoot, settingsWithDropIns } from '../../unit/policy/genpolicy/helpers.js';
import {
  busyboxLayer,
  busyboxPath,
  haveRegistry,
  pushImage,
  pushMultiArch,
  startRegistry,
  usersLayer,
  type LocalRegistry,
} from '../../fixtures/registry/index.js';

const have = haveRegistry() && busyboxPath() !== undefined;
if (!have) console.warn('skipping policy generate CLI tests: /usr/bin/docker-registry or busybox is not installed');

const TSX_LOADER = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function cli(
  args: string[],
  opts: { cwd?: string; input?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    // tsx by absolute URL, so the CLI can run in any working directory (-u writes ./layers-cache.json)
    ['--import', TSX_LOADER, path.join(repoRoot, 'src/cli/main.ts'), 'policy', 'generate', ...args],
    {
      cwd: opts.cwd ?? repoRoot,
      input: opts.input ?? '',
      encoding: 'utf8',
      env: { ...process.env, DOCKER_CONFIG: '/nonexistent-docker-config' },
      timeout: 60_000,
    },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function podAnnotations(yamlText: string, index = 0): Record<string, string> {
  const docs = parseAllDocuments(yamlText) as unknown as {
    toJSON(): { metadata: { annotations: Record<string, string> } };
  }[];
  return docs[index]!.toJSON().metadata.annotations;
}

describe.skipIf(!have)('ccgpu policy generate against a local registry', () => {
  let reg: LocalRegistry;
  const tmp = mkdtempSync(path.join(tmpdir(), 'ccgpu-gen-test-'));
  let busybox: string;
  let www: string;
  let plain: string;

  beforeAll(async () => {
    reg = await startRegistry();
    const client = new RegistryClient({ insecureRegistries: [reg.host] });
    busybox = `${reg.host}/test/busybox:1.0`;
    www = `${reg.host}/test/www:1.0`;
    plain = `${reg.host}/test/plain:1.0`;
    const base = busyboxLayer();
    await pushMultiArch(
      client,
      busybox,
      { layers: [base, usersLayer()], config: { Env: [PATH_ENV], Cmd: ['sh'] } },
      { layers: [base], config: { Cmd: ['arm'] } },
    );
    await pushImage(client, www, {
      layers: [base, usersLayer()],
      config: {
        Env: [PATH_ENV],
        User: 'www-data',
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['httpd -f'],
        WorkingDir: '/var/www',
      },
    });
    await pushImage(client, plain, {
      layers: [base, usersLayer('root:x:0:0::/root:/bin/sh\n', 'root:x:0:\n')],
      config: { Env: [PATH_ENV], Cmd: ['sh'] },
    });
    await client.close();
  }, 60_000);
  afterAll(async () => {
    await reg?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const podYaml = (image: string, extra = '') => `# policy-pod for the test
apiVersion: v1
kind: Pod
metadata:
  name: policy-pod
  namespace: kata-containers-k8s-tests
spec:
  runtimeClassName: kata
  containers:
    - name: busybox
      image: ${image}
      command: ["sh"]
      env:
        - name: KUBE_CONFIG_1
          valueFrom: {configMapKeyRef: {name: policy-configmap, key: data-1}}
        - name: KUBE_CONFIG_2
          valueFrom: {configMapKeyRef: {name: policy-configmap, key: data-2}}
${extra}`;
  const configMap =
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: policy-configmap\ndata:\n  data-1: value-1\n  data-2: value-2\n';

  it('-y rewrites the file in place; the policy allows the real requests (local image) and denies tampered ones', () => {
    const dir = mkdtempSync(path.join(tmp, 'y-'));
    const pod = path.join(dir, 'pod.yaml');
    const cm = path.join(dir, 'cm.yaml');
    writeFileSync(pod, podYaml(busybox));
    writeFileSync(cm, configMap);
    const settings = settingsWithDropIns(['10-non-coco-drop-in.json']);
    const cache = path.join(dir, 'layers-cache.json');

    const missing = cli(['-y', pod, '-j', settings, '--insecure-registry', reg.host]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/ConfigMap "policy-configmap" was not supplied/);
    expect(readFileSync(pod, 'utf8')).toBe(podYaml(busybox)); // untouched on failure

    const r = cli([
      '-y',
      pod,
      '--config-file',
      cm,
      '-j',
      settings,
      '--insecure-registry',
      reg.host,
      `--layers-cache-file-path=${cache}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const rewritten = readFileSync(pod, 'utf8');
    expect(rewritten.startsWith('# policy-pod for the test\n')).toBe(true);
    const initdata = decodeInitdataAnnotation(
      podAnnotations(rewritten)['io.katacontainers.config.hypervisor.cc_init_data']!,
    );
    const policy = initdata.data['policy.rego']!;
    expect(policy.startsWith(readFileSync(path.join(repoRoot, 'policy/rules/rules.rego'), 'utf8'))).toBe(true);
    const cacheDoc = JSON.parse(readFileSync(cache, 'utf8')) as { layers: Record<string, unknown> };
    expect(Object.keys(cacheDoc.layers)).toHaveLength(1); // the top layer decided both files

    const agent = new AgentLike(policy);
    const reqs = readKataInputs('k8s-policy-pod');
    const creates = reqs.filter((x) => x.ep === 'CreateContainerRequest');
    const local = structuredClone(creates[1]!.input) as {
      OCI: { Annotations: Record<string, string>; Process: { Args: string[] } };
    };
    local.OCI.Annotations['io.kubernetes.cri.image-name'] = busybox;
    expect(agent.decide('CreateSandboxRequest', reqs.find((x) => x.ep === 'CreateSandboxRequest')!.input)).toBe(true);
    expect(agent.decide('CreateContainerRequest', creates[0]!.input)).toBe(true);
    expect(agent.decide('CreateContainerRequest', creates[1]!.input)).toBe(false); // image quay.io/... is not the policy's
    const tampered = structuredClone(local);
    tampered.OCI.Process.Args = ['sh', '-c', 'id'];
    expect(agent.decide('CreateContainerRequest', tampered)).toBe(false);
    expect(agent.decide('CreateContainerRequest', local)).toBe(true);
  });

  it('-r prints the policy text and -b the annotation value; stdin in, stdout out without -y', () => {
    const settings = settingsWithDropIns(['10-non-coco-drop-in.json']);
    const input = `${configMap}---\n${podYaml(plain)}`;
    const raw = cli(['-r', '-j', settings, '--insecure-registry', reg.host], { input });
    expect(raw.code).toBe(0);
    expect(raw.stdout).toMatch(/^# ccgpu agent policy rules\./);
    expect(raw.stdout).toContain(`"io.kubernetes.cri.image-name": "${plain}"`);
    const b64 = cli(['-b', '-j', settings, '--insecure-registry', reg.host], { input });
    expect(b64.code).toBe(0);
    expect(decodeInitdataAnnotation(b64.stdout.trim()).data['policy.rego']).toBe(raw.stdout);
    const out = cli(['-j', settings, '--insecure-registry', reg.host], { input });
    expect(out.code).toBe(0);
    expect(podAnnotations(out.stdout, 1)['io.katacontainers.config.hypervisor.cc_init_data']).toBe(b64.stdout.trim());
  });

  it('with guest pull (default settings) refuses image-only users and groups with securityContext hints', () => {
    const wwwPod = `apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  containers:\n    - {name: w, image: ${www}}\n`;
    const r1 = cli(['-j', path.join(repoRoot, 'configs/genpolicy'), '--insecure-registry', reg.host], {
      input: wwwPod,
    });
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toContain('runAsUser: 33');
    expect(r1.stderr).toContain('runAsGroup: 33');
    const bbPod = `apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n    - {name: b, image: ${busybox}}\n`;
    const r2 = cli(['-j', path.join(repoRoot, 'configs/genpolicy'), '--insecure-registry', reg.host], { input: bbPod });
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('supplementalGroups: [10]');
    const fixed = `apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n  securityContext: {runAsUser: 33, runAsGroup: 33}\n  containers:\n    - {name: w, image: ${www}}\n`;
    const r3 = cli(['-r', '-j', path.join(repoRoot, 'configs/genpolicy'), '--insecure-registry', reg.host], {
      input: fixed,
    });
    expect(r3.stderr).toBe('');
    expect(r3.code).toBe(0);
    const data = JSON.parse(r3.stdout.slice(r3.stdout.indexOf('policy_data := ') + 'policy_data := '.length)) as {
      containers: {
        OCI: { Process: { Args: string[]; Cwd: string; User: { UID: number; GID: number; AdditionalGids: number[] } } };
      }[];
    };
    expect(data.containers[1]!.OCI.Process).toMatchObject({
      Args: ['/bin/sh', '-c', 'httpd -f'],
      Cwd: '/var/www',
      User: { UID: 33, GID: 33, AdditionalGids: [33] },
    });
    const plainPod = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: p, image: ${plain}}\n`;
    expect(
      cli(['-r', '-j', path.join(repoRoot, 'configs/genpolicy'), '--insecure-registry', reg.host], { input: plainPod })
        .code,
    ).toBe(0);
  });

  it('Deployment + Job with --runtime-class-names, -u, --initdata-path and --legacy-annotation', () => {
    const dir = mkdtempSync(path.join(tmp, 'deploy-'));
    const file = path.join(dir, 'app.yaml');
    const deployment = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: 1',
      '  selector:',
      '    matchLabels:',
      '      app: web',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: web',
      '    spec:',
      '      runtimeClassName: kata-qemu-nvidia-gpu-snp',
      '      containers:',
      '        - name: web',
      `          image: ${plain}`,
      '',
    ].join('\n');
    const job = [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  name: batch',
      'spec:',
      '  template:',
      '    spec:',
      '      runtimeClassName: runc',
      '      restartPolicy: Never',
      '      containers:',
      '        - name: batch',
      `          image: ${plain}`,
      '',
    ].join('\n');
    writeFileSync(file, `${deployment}---\n${job}`);
    const base = path.join(dir, 'base-initdata.toml');
    writeFileSync(base, 'version = "0.1.0"\nalgorithm = "sha384"\n\n[data]\n"aa.toml" = "[token_configs]\\n"\n');
    const settings = settingsWithDropIns(['10-non-coco-drop-in.json', '20-oci-1.2.1-drop-in.json']);
    const common = ['-j', settings, '--insecure-registry', reg.host, '--runtime-class-names', 'kata-'];

    const r = cli(['-y', file, '-u', `--initdata-path=${base}`, ...common], { cwd: dir });
    expect(r.stderr).toBe('Job "batch": runtimeClassName not selected, left unchanged\n');
    expect(r.code).toBe(0);
    const out = readFileSync(file, 'utf8');
    // the Job is left exactly as it was; the Deployment's pod template got the annotation
    expect(out.endsWith(`---\n${job}`)).toBe(true);
    const docs = parseAllDocuments(out) as unknown as { toJSON(): Record<string, any> }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const dep = docs[0]!.toJSON();
    expect(dep.metadata.annotations).toBeUndefined();
    const initdata = decodeInitdataAnnotation(
      dep.spec.template.metadata.annotations['io.katacontainers.config.hypervisor.cc_init_data'],
    );
    expect(initdata.algorithm).toBe('sha384');
    expect(initdata.data['aa.toml']).toBe('[token_configs]\n');
    const policy = initdata.data['policy.rego']!;
    const data = JSON.parse(policy.slice(policy.indexOf('policy_data := ') + 'policy_data := '.length)) as {
      containers: { OCI: { Version: string; Annotations: Record<string, string> } }[];
    };
    expect(data.containers.map((c) => c.OCI.Version)).toEqual(['1.2.1', '1.2.1']);
    expect(data.containers[1]!.OCI.Annotations['io.kubernetes.cri.sandbox-name']).toBe('^web-[a-z0-9]+-[a-z0-9]{5}$');
    // -u: the layer cache is ./layers-cache.json in the working directory
    const cacheDoc = JSON.parse(readFileSync(path.join(dir, 'layers-cache.json'), 'utf8')) as {
      layers: Record<string, unknown>;
    };
    expect(Object.keys(cacheDoc.layers).length).toBeGreaterThan(0);

    const legacy = cli(['--legacy-annotation', ...common], { input: deployment, cwd: dir });
    expect(legacy.code).toBe(0);
    const legacyDep = (parseAllDocuments(legacy.stdout) as unknown as { toJSON(): Record<string, any> }[])[0]!.toJSON(); // eslint-disable-line @typescript-eslint/no-explicit-any
    const annotations = legacyDep.spec.template.metadata.annotations as Record<string, string>;
    expect(Object.keys(annotations)).toEqual(['io.katacontainers.config.agent.policy']);
    expect(Buffer.from(annotations['io.katacontainers.config.agent.policy']!, 'base64').toString('utf8')).toBe(policy);
  });

  it('fails on an unsupported field without -s, refuses plain HTTP without --insecure-registry', () => {
    const settings = settingsWithDropIns(['10-non-coco-drop-in.json']);
    const odd = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  frobnicate: true\n  containers:\n    - {name: p, image: ${plain}}\n`;
    const r1 = cli(['-j', settings, '--insecure-registry', reg.host], { input: odd });
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/spec\.frobnicate is not a supported field/);
    expect(cli(['-s', '-j', settings, '--insecure-registry', reg.host], { input: odd }).code).toBe(0);
    const r3 = cli(['-j', settings], { input: odd.replace('  frobnicate: true\n', '') });
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(/cannot reach 127\.0\.0\.1/);
  });
});

/**
 * Demo step (c): `ccgpu policy generate` for a sample GPU pod, offline (the image's metadata is given locally instead of
 * pulled from a registry), then the agent's enforcement (Kata agent semantics) deciding an allowed and denied requests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AgentPolicy, explainDenial } from '../../policy/agent/index.js';
import {
  StaticImageSource,
  decodeInitdataAnnotation,
  generatePolicies,
  loadSettings,
  INITDATA_ANNOTATION,
} from '../../policy/genpolicy/index.js';
import type { DemoStep } from './types.js';

export const DEMO_POD_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: cuda-vectoradd
  namespace: default
spec:
  runtimeClassName: kata-qemu-nvidia-gpu-snp
  restartPolicy: Never
  containers:
    - name: cuda-vectoradd
      image: nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0
      command: ["/cuda-samples/vectorAdd"]
      env:
        - name: NVIDIA_VISIBLE_DEVICES
          value: all
      resources:
        limits:
          nvidia.com/pgpu: "1"
`;

/** The image's config and /etc files, as a registry would serve them (given here so the demo needs no network). */
const DEMO_IMAGE = {
  manifestDigest: 'sha256:4a2f0b8c6f2a1d3e5b7c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c',
  config: {
    Env: [
      'PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'NVIDIA_REQUIRE_CUDA=cuda>=12.5',
      'LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64',
    ],
    WorkingDir: '/cuda-samples',
    Cmd: ['/bin/bash'],
  },
  passwd: 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\nnogroup:x:65534:\n',
};

/** A CreateSandbox request as the runtime sends it for a pod without sandbox storages. */
function createSandboxRequest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hostname: '',
    dns: [],
    storages: [],
    sandbox_pidns: false,
    sandbox_id: 'b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3',
    guest_hook_path: '',
    kernel_modules: [],
    ...extra,
  };
}

export const policyStep: DemoStep = {
  id: 'policy',
  title: 'Agent policy: ccgpu policy generate (offline) → allowed and denied requests',
  async run({ out, packageRoot }) {
    const settingsDir = path.join(packageRoot, 'configs/genpolicy');
    // read from the source tree: a dist/ build may not carry policy/rules (scripts/copy-assets.mjs replaces that folder)
    const rules = fs.readFileSync(path.join(packageRoot, 'policy/rules/rules.rego'), 'utf8');
    out.say('$ ccgpu policy generate -y cuda-vectoradd.yaml   (sample pod, 1 GPU, SNP runtime class)');
    out.say(`settings: ${settingsDir}; rules: policy/rules/rules.rego`);
    out.say('image metadata: given locally for the demo (no registry pull); a real run pulls the image config.');
    const { settings } = loadSettings(settingsDir);
    const result = await generatePolicies({
      yamlText: DEMO_POD_YAML,
      yamlFile: 'cuda-vectoradd.yaml',
      settings,
      rules,
      images: new StaticImageSource({ 'nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0': DEMO_IMAGE }),
    });
    const generated = result.policies[0];
    if (!generated) return { status: 'fail', summary: 'the generator produced no policy for the sample pod' };
    const initdata = decodeInitdataAnnotation(generated.annotationValue);
    const policyText = initdata.data['policy.rego'];
    if (generated.annotationKey !== INITDATA_ANNOTATION || policyText === undefined) {
      return {
        status: 'fail',
        summary: `the pod got ${generated.annotationKey} without a policy.rego in its initdata`,
      };
    }
    const workload = generated.policyData.containers.at(-1)!;
    out.say(
      `generated: ${generated.policy.length} bytes of Rego in the ${INITDATA_ANNOTATION} annotation (${generated.annotationValue.length} chars of gzip+base64 initdata)`,
    );
    out.say(
      `policy_data: ${generated.policyData.containers.length} containers (pause + workload); workload args ${JSON.stringify(workload.OCI.Process.Args)}`,
    );

    // the agent side: load the policy from initdata and decide requests, as the guest agent does
    const agent = AgentPolicy.fromRego(policyText);
    const cases: Array<{ what: string; request: string; input: unknown; expect: boolean }> = [
      {
        what: 'CreateSandbox for the pod',
        request: 'CreateSandboxRequest',
        input: createSandboxRequest(),
        expect: true,
      },
      {
        what: 'CreateSandbox that loads a kernel module into the TEE guest',
        request: 'CreateSandboxRequest',
        input: createSandboxRequest({ kernel_modules: [{ name: 'evil', parameters: [] }] }),
        expect: false,
      },
      {
        what: 'CreateSandbox with a guest hook path',
        request: 'CreateSandboxRequest',
        input: createSandboxRequest({ guest_hook_path: '/usr/share/oci/hooks' }),
        expect: false,
      },
      {
        what: 'ExecProcess "cat /proc/self/environ" (no exec command is allowed by the policy)',
        request: 'ExecProcessRequest',
        input: {
          container_id: 'c0ffee',
          exec_id: 'e1',
          string_user: null,
          process: {
            Terminal: false,
            User: { UID: 0, GID: 0, AdditionalGids: [], Username: '' },
            Args: ['cat', '/proc/self/environ'],
            Env: [],
            Cwd: '/',
            Capabilities: null,
            SelinuxLabel: '',
            ApparmorProfile: '',
            NoNewPrivileges: false,
          },
        },
        expect: false,
      },
      {
        what: 'AllowRequestsFailingPolicy (fail closed)',
        request: 'AllowRequestsFailingPolicy',
        input: {},
        expect: false,
      },
    ];
    let wrong = 0;
    for (const c of cases) {
      const d = await agent.evaluate(c.request, c.input);
      const ok = d.allowed === c.expect;
      if (!ok) wrong++;
      out.say(`${d.allowed ? 'ALLOWED' : 'DENIED '}  ${c.request}: ${c.what}${ok ? '' : '   <-- UNEXPECTED'}`);
      if (!d.allowed && c.request === 'CreateSandboxRequest') {
        const ex = explainDenial(policyText, [{ name: c.request, input: c.input, line: 1 }], 0);
        const why = ex.innermost ?? ex.failedRule;
        if (why) out.say(`         failed: ${why.text.trim()} (rules line ${why.line})`);
      }
    }
    if (wrong > 0)
      return { status: 'fail', summary: `${wrong} of ${cases.length} decisions were not the expected ones` };
    return {
      status: 'pass',
      summary: `policy generated offline; ${cases.filter((c) => c.expect).length} request allowed, ${cases.filter((c) => !c.expect).length} denied as expected`,
    };
  },
};

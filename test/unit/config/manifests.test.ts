import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FLAVOURS, installedConfigPath, runtimeHandler } from '../../../src/config/index.js';
import { repoRoot } from './helpers.js';

interface RuntimeClass {
  kind: string;
  metadata: { name: string };
  handler: string;
  overhead: { podFixed: Record<string, string> };
  scheduling: { nodeSelector: Record<string, string> };
}

const read = (rel: string): string => readFileSync(path.join(repoRoot, 'configs', rel), 'utf8');
const GPU = (f: string): boolean => f.startsWith('qemu-nvidia-gpu');

describe('RuntimeClass manifests', () => {
  it('check 19: kata-qemu-nvidia-gpu-snp with 10240Mi / 1.0 overhead and the SNP + cc.ready node selectors', () => {
    const rc = parseYaml(read('runtimeclasses/qemu-nvidia-gpu-snp.yaml')) as RuntimeClass;
    expect(rc.kind).toBe('RuntimeClass');
    expect(rc.handler).toBe('kata-qemu-nvidia-gpu-snp');
    expect(rc.overhead.podFixed).toEqual({ memory: '10240Mi', cpu: '1.0' });
    expect(rc.scheduling.nodeSelector).toMatchObject({
      'nvidia.com/cc.ready.state': 'true',
      'amd.feature.node.kubernetes.io/snp': 'true',
    });
  });

  for (const flavour of FLAVOURS) {
    it(`${flavour}: name = handler = kata-${flavour}; GPU flavours reserve 10240Mi / 1.0`, () => {
      const rc = parseYaml(read(`runtimeclasses/${flavour}.yaml`)) as RuntimeClass;
      expect(rc.metadata.name).toBe(runtimeHandler(flavour));
      expect(rc.handler).toBe(runtimeHandler(flavour));
      if (GPU(flavour)) expect(rc.overhead.podFixed).toEqual({ memory: '10240Mi', cpu: '1.0' });
    });
  }
});

describe('containerd snippets', () => {
  for (const flavour of FLAVOURS) {
    for (const [version, plugin] of [
      ['1.7', 'io.containerd.grpc.v1.cri'],
      ['2.x', 'io.containerd.cri.v1.runtime'],
    ] as const) {
      it(`${flavour} containerd ${version}: ccgpu shim, ConfigPath, annotations`, () => {
        const doc = parseToml(read(`containerd/config-${version}-${flavour}.toml`)) as {
          version: number;
          plugins: Record<string, { containerd: { runtimes: Record<string, Record<string, unknown>> } }>;
        };
        expect(doc.version).toBe(version === '1.7' ? 2 : 3);
        const rt = doc.plugins[plugin]!.containerd.runtimes[runtimeHandler(flavour)]!;
        expect(rt.runtime_type).toBe('io.containerd.ccgpu.v2');
        expect(rt.pod_annotations).toEqual(['io.katacontainers.*', 'cdi.k8s.io/*']);
        expect((rt.options as Record<string, string>).ConfigPath).toBe(installedConfigPath(flavour));
        const tee = ['qemu-nvidia-gpu-snp', 'qemu-nvidia-gpu-tdx', 'qemu-snp', 'qemu-tdx'].includes(flavour);
        expect(rt.snapshotter).toBe(tee ? 'nydus-for-kata-tee' : undefined);
      });
    }
  }
});

/**
 * Demo step (b): a fake HGX H100 host → `ccgpu cdi generate` → the SEV-SNP QEMU command line for a pod asking for
 * 8 GPUs + 4 NVSwitches (`ccgpu qemu-cmdline`) → QEMU 11.1 parsing that line, when the forky chroot exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateVfioSpecs, writeVfioSpecs, type OciSpec } from '../../cdi/index.js';
import { applyAnnotations, loadConfigFile, shippedConfigPath } from '../config/index.js';
import { hostPathsFromRoot } from '../devices/index.js';
import { chooseProtection } from '../sandbox/host-facts.js';
import { planSandboxLaunch, type LaunchPlan } from '../sandbox/launch-plan.js';
import { writeHgxHost } from './hgx-host-tree.js';
import { forkyQemu, qemuParsesLine } from './qemu11-parse.js';
import type { DemoOutput, DemoStep } from './types.js';

export const DEMO_SANDBOX_ID = 'ccgpu-demo';

/** `-flag value` pairs on one line each, for reading. */
export function formatCommandLine(binary: string, args: readonly string[]): string {
  const lines = [binary];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('-') && next !== undefined && !next.startsWith('-')) {
      lines.push(`  ${a} ${next}`);
      i++;
    } else {
      lines.push(`  ${a}`);
    }
  }
  return lines.join('\n');
}

function describePlan(plan: LaunchPlan, out: DemoOutput): { vfio: number; ports: number } {
  const args = plan.cmdline.args;
  const values = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
  const devices = values('-device');
  const objects = values('-object');
  const vfio = devices.filter((d) => d.startsWith('vfio-pci,')).length;
  const ports = devices.filter((d) => /^(pcie-root-port|xio3130-downstream),id=(rp|swdp)\d+,/.test(d)).length;
  const snp = objects.find((o) => o.startsWith('sev-snp-guest'));
  const iommufd = objects.filter((o) => o.startsWith('iommufd')).length;
  out.say(
    `guest: ${plan.sizing.vcpus} vCPUs, ${plan.sizing.memoryMiB} MiB; ${vfio} vfio-pci devices on ${ports} cold-plug PCIe ports;`,
  );
  out.say(`${iommufd} iommufd object(s); confidential object: ${snp ?? 'none'}`);
  return { vfio, ports };
}

export const gpuHostStep: DemoStep = {
  id: 'gpu-host',
  title: 'Fake HGX H100 host → ccgpu cdi generate → SEV-SNP QEMU command line (8 GPUs + 4 NVSwitches)',
  async run({ out, workDir }) {
    const host = writeHgxHost(path.join(workDir, 'host'));
    out.say(`wrote a fake HGX H100 host tree (sysfs + /dev, SEV-SNP on) to ${host.root}`);
    out.say(`  ${host.gpus.length} GPUs ${host.gpus.join(' ')}`);
    out.say(`  ${host.nvswitches.length} NVSwitches ${host.nvswitches.join(' ')}`);

    // ccgpu cdi generate --sysfs-root <root> --output <dir>
    const cdiDir = path.join(workDir, 'cdi');
    out.say(`$ ccgpu cdi generate --sysfs-root ${host.root} --output ${cdiDir}`);
    const generated = generateVfioSpecs({ root: host.root, env: {} });
    for (const w of generated.warnings) out.say(`warning: ${w}`);
    const files = writeVfioSpecs(generated, cdiDir);
    const names: string[] = [];
    for (const s of generated.specs) {
      const devs = s.spec.devices.map((d) => `${s.kind}=${d.name}`);
      names.push(...devs);
      out.say(`  ${path.join(cdiDir, s.fileName)}: ${devs.length} devices (${devs.join(', ')})`);
    }
    const gpuNames = names.filter((n) => n.startsWith('nvidia.com/pgpu='));
    const switchNames = names.filter((n) => n.startsWith('nvidia.com/nvswitch='));
    if (files.length === 0 || gpuNames.length !== 8 || switchNames.length !== 4) {
      return {
        status: 'fail',
        summary: `cdi generate found ${gpuNames.length} GPUs and ${switchNames.length} NVSwitches, expected 8 and 4`,
      };
    }

    // the pod bundle: asks for every GPU and NVSwitch through a cdi.k8s.io annotation
    const bundle = path.join(workDir, DEMO_SANDBOX_ID);
    fs.mkdirSync(bundle, { recursive: true });
    const spec: OciSpec = {
      ociVersion: '1.1.0',
      annotations: {
        'io.kubernetes.cri.container-type': 'sandbox',
        'cdi.k8s.io/ccgpu-demo': [...gpuNames, ...switchNames].join(','),
      },
      linux: { devices: [] },
    };
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    const configFile = shippedConfigPath('qemu-nvidia-gpu-snp');
    out.say(`$ ccgpu qemu-cmdline --config ${configFile} --bundle ${bundle} --sysfs ${host.root} --cdi-dir ${cdiDir}`);
    const loaded = applyAnnotations(loadConfigFile(configFile), spec.annotations ?? {});
    const paths = hostPathsFromRoot(host.root);
    const choice = chooseProtection(loaded.config, { sysfs: paths.sysfs });
    out.say(`host protection detected from the fake sysfs: ${choice.protection}`);
    const plan = planSandboxLaunch({
      sandboxId: DEMO_SANDBOX_ID,
      loaded,
      spec,
      host: paths,
      protection: choice.protection,
      cbitpos: choice.cbitpos,
      runDir: `/run/ccgpu/${DEMO_SANDBOX_ID}`,
      hostMemoryMiB: host.memoryMiB,
      tdxQgsSocketPresent: false,
      qmpFd: 3,
      vsock: loaded.config.agent.agentTransport === 'vsock' ? { vhostFd: 4, cid: 3 } : undefined,
      cdiSpecDirs: [cdiDir],
      statDevice: host.statDevice,
    });
    for (const w of [...loaded.warnings, ...plan.cmdline.warnings]) out.say(`warning: ${w}`);
    out.show(formatCommandLine(plan.cmdline.binary, plan.cmdline.args));
    const { vfio } = describePlan(plan, out);
    if (vfio !== 12) return { status: 'fail', summary: `the command line has ${vfio} vfio-pci devices, expected 12` };
    if (!plan.cmdline.args.some((a) => a.startsWith('sev-snp-guest'))) {
      return { status: 'fail', summary: 'the command line has no sev-snp-guest object' };
    }
    let summary = `12 VFIO devices cold-plugged (${plan.coldPlugged.length} CDI names) into an SEV-SNP guest line of ${plan.cmdline.args.length} args`;

    const qemu = forkyQemu();
    if ('missing' in qemu) {
      out.say(`QEMU 11.1 check skipped: ${qemu.missing}`);
      return { status: 'pass', summary: `${summary}; QEMU 11.1 parse skipped (${qemu.missing})` };
    }
    out.say(`QEMU ${qemu.version} (${qemu.root}) parses the line: it must fail only for lack of KVM, then (TCG pass)`);
    out.say('realize every device up to the first vfio-pci, which fails only because the GPU does not exist here.');
    const parsed = await qemuParsesLine(qemu, plan);
    for (const l of parsed.lines) out.say(`  ${l}`);
    summary += parsed.ok ? `; QEMU ${qemu.version} accepts it` : `; QEMU ${qemu.version} REJECTS it`;
    return { status: parsed.ok ? 'pass' : 'fail', summary };
  },
};

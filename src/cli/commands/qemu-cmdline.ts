/**
 * `ccgpu qemu-cmdline --config F --bundle DIR [--sysfs ROOT] [--cdi-dir D ...] [--tee snp|tdx] [--pod-resource NAME ...]`
 * prints the QEMU command line a pod bundle would get, one argument per line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyAnnotations, loadConfig } from '../../config/index.js';
import { hostPathsFromRoot } from '../../devices/index.js';
import { planSandboxLaunch } from '../../sandbox/launch-plan.js';
import { chooseProtection, hostMemoryMiB, tdxQgsSocketPresent } from '../../sandbox/host-facts.js';
import { errorMessage } from '../../errors/index.js';
import type { OciSpec } from '../../../cdi/index.js';

const HELP = `usage: ccgpu qemu-cmdline --bundle DIR [--config FILE] [--sysfs ROOT] [--cdi-dir DIR ...] [--tee snp|tdx]
                          [--pod-resource <resource>=<id> ...] [--sandbox-id ID] [--json]

Prints the QEMU command line for the pod bundle DIR (its config.json), one argument per line.
  --config FILE     runtime configuration (default: like the shim: KATA_CONF_FILE, /etc/ccgpu, shipped)
  --sysfs ROOT      read PCI/IOMMU state from ROOT/sys instead of /sys (fixtures, offline hosts)
  --cdi-dir DIR     CDI spec directory (repeatable; default: the config's cdi_spec_dirs)
  --tee snp|tdx     dry run for a TEE host: skip detection; cbitpos from snp_cbitpos or 51
  --pod-resource    a device kubelet assigned (<resource>=<id>), instead of the spec's cdi.k8s.io annotations
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      bundle: { type: 'string' },
      sysfs: { type: 'string' },
      'cdi-dir': { type: 'string', multiple: true },
      tee: { type: 'string' },
      'pod-resource': { type: 'string', multiple: true },
      'sandbox-id': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.bundle) {
    process.stderr.write(`ccgpu qemu-cmdline: --bundle is required\n\n${HELP}`);
    return 2;
  }
  if (values.tee && values.tee !== 'snp' && values.tee !== 'tdx') {
    process.stderr.write(`ccgpu qemu-cmdline: --tee must be snp or tdx, not "${values.tee}"\n`);
    return 2;
  }
  try {
    const specFile = path.join(values.bundle, 'config.json');
    let spec: OciSpec;
    try {
      spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as OciSpec;
    } catch (e) {
      throw new Error(`cannot read the OCI spec ${specFile}: ${errorMessage(e)}`);
    }
    const loaded = applyAnnotations(loadConfig({ configPath: values.config }), spec.annotations ?? {});
    const host = hostPathsFromRoot(values.sysfs);
    const sandboxId = values['sandbox-id'] ?? path.basename(path.resolve(values.bundle));
    const choice = chooseProtection(loaded.config, {
      sysfs: host.sysfs,
      forceTee: values.tee as 'snp' | 'tdx' | undefined,
    });
    const plan = planSandboxLaunch({
      sandboxId,
      loaded,
      spec,
      host,
      protection: choice.protection,
      cbitpos: choice.cbitpos,
      runDir: `/run/ccgpu/${sandboxId}`,
      hostMemoryMiB: hostMemoryMiB(),
      tdxQgsSocketPresent: tdxQgsSocketPresent(),
      qmpFd: 3,
      vsock: loaded.config.agent.agentTransport === 'vsock' ? { vhostFd: 4, cid: 3 } : undefined,
      podResourceNames: values['pod-resource'],
      cdiSpecDirs: values['cdi-dir'],
    });
    for (const w of [...loaded.warnings, ...plan.cmdline.warnings]) process.stderr.write(`warning: ${w}\n`);
    if (values.json) {
      process.stdout.write(
        JSON.stringify(
          { binary: plan.cmdline.binary, args: plan.cmdline.args, coldPlugged: plan.coldPlugged },
          null,
          2,
        ) + '\n',
      );
    } else {
      process.stdout.write([plan.cmdline.binary, ...plan.cmdline.args].join('\n') + '\n');
    }
    return 0;
  } catch (e) {
    process.stderr.write(`ccgpu qemu-cmdline: ${errorMessage(e)}\n`);
    return 1;
  }
}

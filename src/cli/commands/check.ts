/**
 * `ccgpu check [--flavour F ...|--all] [--config FILE] [--root DIR] [--json]`: host readiness per flavour, one line per
 * check (ok/WARN/FAIL/skip) with the fix. Exit 0 when nothing fails, 1 otherwise, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { FLAVOURS, isFlavour, type Flavour } from '../../config/index.js';
import { errorMessage } from '../../errors/index.js';
import { checkHost, formatHostCheckReport, hostCheckReportJson } from '../../host-check/index.js';

const USAGE = `usage: ccgpu check [--flavour NAME ... | --all] [--config FILE] [--root DIR] [--json]

Checks that this host can run sandboxes of a flavour: CPU virtualization, /dev/kvm, kvm modules, SEV-SNP, TDX,
IOMMU, NVIDIA GPUs/NVSwitches bound to vfio-pci, IOMMUFD, vhost-vsock, the QEMU binary and version, and the
guest kernel/image/firmware files. One line per check: ok, WARN, FAIL (with the fix) or skip (not needed).
  --flavour NAME   check this flavour with its shipped configuration (repeatable): ${FLAVOURS.join(', ')}
  --all            check all six flavours
  --config FILE    check this configuration file (default: the effective one: $CCGPU_CONF_FILE,
                   $KATA_CONF_FILE, /etc/ccgpu/configuration.toml, then the shipped qemu-nvidia-gpu-snp file);
                   its flavour comes from --flavour, its file name or its content
  --root DIR       read /proc, /sys, /dev and the configured files below DIR (fixture trees)
  --json           machine-readable report
Exit status: 0 when no check fails, 1 when one does, 2 on bad usage.
`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        flavour: { type: 'string', multiple: true },
        all: { type: 'boolean' },
        config: { type: 'string' },
        root: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`ccgpu check: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const flavours: Flavour[] = [];
  for (const f of values.flavour ?? []) {
    if (!isFlavour(f)) {
      process.stderr.write(`ccgpu check: unknown flavour "${f}"; expected one of ${FLAVOURS.join(', ')}\n`);
      return 2;
    }
    flavours.push(f);
  }
  if (values.all && flavours.length > 0) {
    process.stderr.write('ccgpu check: use either --all or --flavour\n');
    return 2;
  }
  if (values.config !== undefined && (values.all || flavours.length > 1)) {
    process.stderr.write('ccgpu check: --config checks one configuration; combine it with at most one --flavour\n');
    return 2;
  }
  let report;
  try {
    report = await checkHost({ root: values.root, flavours, all: values.all, configFile: values.config });
  } catch (e) {
    process.stderr.write(`ccgpu check: ${errorMessage(e)}\n`);
    return 2;
  }
  process.stdout.write(values.json ? hostCheckReportJson(report) : formatHostCheckReport(report));
  return report.ok ? 0 : 1;
}

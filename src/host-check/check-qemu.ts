/**
 * The configured QEMU (`[hypervisor.qemu] path`): exists, is an executable file, and `--version` is new enough for
 * the flavour's TEE (sev-snp-guest needs 9.1, tdx-guest 10.1), and `-object help` lists that guest object (a QEMU
 * built without CONFIG_SEV / CONFIG_TDX lacks it whatever its version).
 */
import fs from 'node:fs';
import { MIN_QEMU_FOR_TEE, versionAtLeast } from './qemu-version.js';
import { result, type CheckContext, type CheckResult } from './types.js';

export async function checkQemu(ctx: CheckContext): Promise<CheckResult[]> {
  const configured = ctx.loaded.config.hypervisor.path;
  const where = `hypervisor.qemu.path in ${ctx.loaded.file}`;
  if (!configured)
    return [
      result('qemu', 'fail', `${where} is empty`, 'set it to the QEMU binary, e.g. /opt/ccgpu/bin/qemu-system-x86_64'),
    ];
  const bin = ctx.host.path(configured);
  let st: fs.Stats;
  try {
    st = fs.statSync(bin);
  } catch {
    return [
      result(
        'qemu',
        'fail',
        `${configured} (${where}) does not exist`,
        `install QEMU there (the ccgpu/Kata static QEMU build) or point ${where} at an installed qemu-system-x86_64`,
      ),
    ];
  }
  if (!st.isFile())
    return [
      result('qemu', 'fail', `${configured} is not a regular file`, `point ${where} at the qemu-system-x86_64 binary`),
    ];
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    return [result('qemu', 'fail', `${configured} is not executable`, `chmod 0755 ${configured}`)];
  }
  const answer = await ctx.qemuVersion(bin);
  if ('error' in answer) {
    return [result('qemu', 'fail', `${configured} does not run: ${answer.error}`, `reinstall QEMU at ${configured}`)];
  }
  const v = answer.version;
  const tee = ctx.needs.tee;
  if (tee !== 'none') {
    const min = MIN_QEMU_FOR_TEE[tee];
    if (!versionAtLeast(v, min)) {
      return [
        result(
          'qemu',
          'fail',
          `${configured} is QEMU ${v.text}; ${ctx.flavour} needs >= ${min.major}.${min.minor} for -object ${min.object}`,
          `install QEMU >= ${min.major}.${min.minor} (e.g. the ccgpu/Kata static build) at ${configured}`,
        ),
      ];
    }
    const objects = answer.objects;
    if (Array.isArray(objects) && !objects.includes(min.object)) {
      return [
        result(
          'qemu',
          'fail',
          `${configured} is QEMU ${v.text} but \`-object help\` does not list ${min.object}: it was built without ${tee === 'snp' ? 'SEV' : 'TDX'} support`,
          `install a QEMU built with ${tee === 'snp' ? 'CONFIG_SEV' : 'CONFIG_TDX'} (e.g. the ccgpu/Kata static build) at ${configured}`,
        ),
      ];
    }
    if (!Array.isArray(objects)) {
      return [
        result(
          'qemu',
          'warn',
          `${configured} is QEMU ${v.text} (>= ${min.major}.${min.minor} for ${min.object}), but its object types could not be listed: ${objects.error}`,
          `check that \`${configured} -object help\` lists ${min.object}`,
        ),
      ];
    }
    return [result('qemu', 'ok', `${configured} is QEMU ${v.text} and supports -object ${min.object}`)];
  }
  return [result('qemu', 'ok', `${configured} is QEMU ${v.text}`)];
}

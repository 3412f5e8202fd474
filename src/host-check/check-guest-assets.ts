/**
 * The guest assets named by the configuration exist and are readable regular files: kernel, image or initrd,
 * firmware (required for SNP/TDX guests) and firmware volume.
 */
import fs from 'node:fs';
import { result, type CheckContext, type CheckResult } from './types.js';

type AssetKey = 'kernel' | 'image' | 'initrd' | 'firmware' | 'firmware_volume';
function checkFile(ctx: CheckContext, key: AssetKey, value: string): CheckResult {
  const name = key.replace('_', '-');
  const where = `hypervisor.qemu.${key} in ${ctx.loaded.file}`;
  const provide =
    key === 'firmware' || key === 'firmware_volume'
      ? 'install the OVMF/AMDSEV firmware package that provides it'
      : 'build the guest assets with `ccgpu image build` and install them';
  const file = ctx.host.path(value);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return result(name, 'fail', `${value} (${where}) does not exist`, `${provide}, or change ${where}`);
  }
  if (!st.isFile())
    return result(name, 'fail', `${value} (${where}) is not a regular file`, `point ${where} at the ${key} file`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    return result(name, 'fail', `${value} (${where}) is not readable`, `chmod a+r ${value}`);
  }
  if (st.size === 0) return result(name, 'fail', `${value} (${where}) is empty`, `${provide} again`);
  return result(name, 'ok', `${value} (${st.size} bytes)`);
}

export function checkGuestAssets(ctx: CheckContext): CheckResult[] {
  const q = ctx.loaded.config.hypervisor;
  const where = (key: string): string => `hypervisor.qemu.${key} in ${ctx.loaded.file}`;
  const out: CheckResult[] = [];
  out.push(
    q.kernel
      ? checkFile(ctx, 'kernel', q.kernel)
      : result('kernel', 'fail', `${where('kernel')} is empty`, 'set it to the guest kernel'),
  );
  if (!q.image && !q.initrd) {
    out.push(
      result('image', 'fail', `neither ${where('image')} nor initrd is set`, 'set image (rootfs image) or initrd'),
    );
  }
  if (q.image) out.push(checkFile(ctx, 'image', q.image));
  if (q.initrd) out.push(checkFile(ctx, 'initrd', q.initrd));
  if (q.firmware) out.push(checkFile(ctx, 'firmware', q.firmware));
  else if (ctx.needs.tee !== 'none') {
    const fw = ctx.needs.tee === 'snp' ? 'AMDSEV.fd' : 'OVMF.inteltdx.fd';
    out.push(
      result(
        'firmware',
        'fail',
        `${where('firmware')} is empty; ${ctx.needs.tee.toUpperCase()} guests boot through firmware`,
        `set it to ${fw}`,
      ),
    );
  }
  if (q.firmwareVolume) out.push(checkFile(ctx, 'firmware_volume', q.firmwareVolume));
  return out;
}

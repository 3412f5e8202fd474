/**
 * AMD VCEK / VLEK X.509 extensions: the TCB security patch levels the key was derived for
 * (1.3.6.1.4.1.3704.1.3.x), the chip's hardware ID (1.3.6.1.4.1.3704.1.4, VCEK only) and the product name.
 */
import type { X509Certificate } from 'node:crypto';
import { content, decodeUint, parseDer, readTlv, TAG } from '../der.js';
import { certExtensions } from '../x509-extensions.js';

export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSPL: '1.3.6.1.4.1.3704.1.3.1',
  teeSPL: '1.3.6.1.4.1.3704.1.3.2',
  snpSPL: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSPL: '1.3.6.1.4.1.3704.1.3.8',
  fmcSPL: '1.3.6.1.4.1.3704.1.3.9',
  hwId: '1.3.6.1.4.1.3704.1.4',
} as const;

export interface VekExtensions {
  productName?: string;
  tcb: { bootloader?: number; tee?: number; snp?: number; microcode?: number; fmc?: number };
  /** The 64-byte hardware ID, or undefined when absent (VLEK). */
  hwId?: Buffer;
}

/** Read the AMD extensions; throws with the OID named when one is malformed. */
export function readVekExtensions(cert: X509Certificate): VekExtensions {
  const exts = certExtensions(cert);
  const int = (oid: string, name: string): number | undefined => {
    const e = exts.get(oid);
    if (!e) return undefined;
    try {
      return decodeUint(parseDer(e.value));
    } catch (err) {
      throw new Error(`VEK extension ${name} (${oid}) is not a DER INTEGER: ${(err as Error).message}`);
    }
  };
  const out: VekExtensions = {
    tcb: {
      bootloader: int(AMD_OID.blSPL, 'blSPL'),
      tee: int(AMD_OID.teeSPL, 'teeSPL'),
      snp: int(AMD_OID.snpSPL, 'snpSPL'),
      microcode: int(AMD_OID.ucodeSPL, 'ucodeSPL'),
      fmc: int(AMD_OID.fmcSPL, 'fmcSPL'),
    },
  };
  const pn = exts.get(AMD_OID.productName);
  if (pn) {
    try {
      const t = parseDer(pn.value);
      if (t.tag === TAG.IA5_STRING || t.tag === TAG.UTF8_STRING || t.tag === TAG.PRINTABLE_STRING)
        out.productName = content(t).toString('latin1');
    } catch {
      /* a product name is informational only */
    }
  }
  const hw = exts.get(AMD_OID.hwId);
  if (hw) out.hwId = decodeHwId(hw.value);
  return out;
}

/** hwID is either the 64 raw bytes (older certificates) or an OCTET STRING wrapping them (newer ones). */
export function decodeHwId(value: Buffer): Buffer {
  if (value.length === 64) return Buffer.from(value);
  if (value.length === 66 && value[0] === TAG.OCTET_STRING) {
    const t = readTlv(value, 0);
    if (t.end === value.length && t.end - t.contentStart === 64) return Buffer.from(content(t));
  }
  throw new Error(
    `VEK extension hwID (${AMD_OID.hwId}) is ${value.length} bytes; expected 64 raw bytes or an OCTET STRING of 64`,
  );
}

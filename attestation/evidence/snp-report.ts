/**
 * AMD SEV-SNP attestation report (ABI spec "ATTESTATION_REPORT", 0x4A0 bytes, little-endian), versions 2–5.
 * Parses the raw bytes into typed fields, works out the CPU generation from the CPUID bytes (v3+), and decodes
 * the per-generation TCB_VERSION layout (Milan/Genoa vs Turin).
 */
import { ByteReader } from './byte-reader.js';
import { MalformedEvidenceError } from './errors.js';

export const SNP_REPORT_SIZE = 0x4a0;
/** The signature covers bytes [0, SNP_SIGNED_SIZE). */
export const SNP_SIGNED_SIZE = 0x2a0;
export const SNP_MIN_VERSION = 2;
export const SNP_MAX_VERSION = 5;

export type SnpGeneration = 'Milan' | 'Genoa' | 'Turin';
export const SNP_GENERATIONS: readonly SnpGeneration[] = ['Milan', 'Genoa', 'Turin'];

/** A decoded TCB_VERSION. `fmc` is only present on Turin. */
export interface SnpTcb {
  fmc?: number;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export type SnpSigningKey = 'vcek' | 'vlek' | 'none' | 'reserved';

export interface SnpReport {
  raw: Buffer;
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Buffer;
  imageId: Buffer;
  vmpl: number;
  signatureAlgo: number;
  currentTcbRaw: Buffer;
  platformInfo: bigint;
  keyInfo: number;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  signingKey: SnpSigningKey;
  reportData: Buffer;
  measurement: Buffer;
  hostData: Buffer;
  idKeyDigest: Buffer;
  authorKeyDigest: Buffer;
  reportId: Buffer;
  reportIdMa: Buffer;
  reportedTcbRaw: Buffer;
  /** CPUID family/model/stepping (v3+); undefined on v2 reports. */
  cpuid?: { family: number; model: number; stepping: number };
  chipId: Buffer;
  committedTcbRaw: Buffer;
  currentVersion: { major: number; minor: number; build: number };
  committedVersion: { major: number; minor: number; build: number };
  launchTcbRaw: Buffer;
  launchMitVector?: bigint;
  currentMitVector?: bigint;
  /** Signature r and s, big-endian 48 bytes each (converted from the report's 72-byte little-endian fields). */
  signatureR: Buffer;
  signatureS: Buffer;
  /** True when the unused high 24 bytes of each 72-byte r/s field are zero, as the ABI requires. */
  signaturePaddingZero: boolean;
}

/** Decoded policy bits (ABI spec, GUEST_POLICY). */
export interface SnpPolicyBits {
  abiMinor: number;
  abiMajor: number;
  smtAllowed: boolean;
  migrateMa: boolean;
  debugAllowed: boolean;
  singleSocket: boolean;
}

export function decodeSnpPolicy(policy: bigint): SnpPolicyBits {
  const bit = (n: number): boolean => ((policy >> BigInt(n)) & 1n) === 1n;
  return {
    abiMinor: Number(policy & 0xffn),
    abiMajor: Number((policy >> 8n) & 0xffn),
    smtAllowed: bit(16),
    migrateMa: bit(18),
    debugAllowed: bit(19),
    singleSocket: bit(20),
  };
}

const SIGNING_KEYS: Record<number, SnpSigningKey> = { 0: 'vcek', 1: 'vlek', 7: 'none' };

function leToBe48(field: Buffer): Buffer {
  return Buffer.from(field.subarray(0, 48)).reverse();
}

/** Parse a raw SNP report. Throws MalformedEvidenceError on a wrong size, an unsupported version or bad field values. */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  const r = new ByteReader(bytes, 'snp report');
  if (bytes.length !== SNP_REPORT_SIZE) {
    throw new MalformedEvidenceError('snp report', `expected exactly ${SNP_REPORT_SIZE} bytes, got ${bytes.length}`);
  }
  const version = r.u32(0x000, 'version');
  if (version < SNP_MIN_VERSION || version > SNP_MAX_VERSION) {
    throw new MalformedEvidenceError(
      'snp report',
      `unsupported version ${version} (expected ${SNP_MIN_VERSION}–${SNP_MAX_VERSION})`,
      'version',
    );
  }
  const keyInfo = r.u32(0x048, 'key_info');
  const copy = (o: number, n: number, f: string): Buffer => Buffer.from(r.bytes(o, n, f));
  const rField = r.bytes(0x2a0, 72, 'signature.r');
  const sField = r.bytes(0x2e8, 72, 'signature.s');
  const padZero = rField.subarray(48).every((x) => x === 0) && sField.subarray(48).every((x) => x === 0);
  const report: SnpReport = {
    raw: Buffer.from(bytes),
    version,
    guestSvn: r.u32(0x004, 'guest_svn'),
    policy: r.u64(0x008, 'policy'),
    familyId: copy(0x010, 16, 'family_id'),
    imageId: copy(0x020, 16, 'image_id'),
    vmpl: r.u32(0x030, 'vmpl'),
    signatureAlgo: r.u32(0x034, 'signature_algo'),
    currentTcbRaw: copy(0x038, 8, 'current_tcb'),
    platformInfo: r.u64(0x040, 'platform_info'),
    keyInfo,
    authorKeyEn: (keyInfo & 1) === 1,
    maskChipKey: (keyInfo & 2) === 2,
    signingKey: SIGNING_KEYS[(keyInfo >> 2) & 7] ?? 'reserved',
    reportData: copy(0x050, 64, 'report_data'),
    measurement: copy(0x090, 48, 'measurement'),
    hostData: copy(0x0c0, 32, 'host_data'),
    idKeyDigest: copy(0x0e0, 48, 'id_key_digest'),
    authorKeyDigest: copy(0x110, 48, 'author_key_digest'),
    reportId: copy(0x140, 32, 'report_id'),
    reportIdMa: copy(0x160, 32, 'report_id_ma'),
    reportedTcbRaw: copy(0x180, 8, 'reported_tcb'),
    chipId: copy(0x1a0, 64, 'chip_id'),
    committedTcbRaw: copy(0x1e0, 8, 'committed_tcb'),
    currentVersion: {
      build: r.u8(0x1e8, 'current_build'),
      minor: r.u8(0x1e9, 'current_minor'),
      major: r.u8(0x1ea, 'current_major'),
    },
    committedVersion: {
      build: r.u8(0x1ec, 'committed_build'),
      minor: r.u8(0x1ed, 'committed_minor'),
      major: r.u8(0x1ee, 'committed_major'),
    },
    launchTcbRaw: copy(0x1f0, 8, 'launch_tcb'),
    signatureR: leToBe48(rField),
    signatureS: leToBe48(sField),
    signaturePaddingZero: padZero,
  };
  if (version >= 3) {
    report.cpuid = {
      family: r.u8(0x188, 'cpuid_fam_id'),
      model: r.u8(0x189, 'cpuid_mod_id'),
      stepping: r.u8(0x18a, 'cpuid_step'),
    };
  }
  if (version >= 5) {
    report.launchMitVector = r.u64(0x1f8, 'launch_mit_vector');
    report.currentMitVector = r.u64(0x200, 'current_mit_vector');
  }
  return report;
}

/** CPU generation from CPUID family/model, or undefined when the family/model is not a known SNP part. */
export function snpGenerationFromCpuid(family: number, model: number): SnpGeneration | undefined {
  if (family === 0x19 && model <= 0x0f) return 'Milan';
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return 'Genoa';
  if (family === 0x1a && model <= 0x11) return 'Turin';
  return undefined;
}

/** Decode an 8-byte TCB_VERSION with the layout of the given generation. */
export function decodeSnpTcb(raw: Uint8Array, generation: SnpGeneration): SnpTcb {
  if (raw.length !== 8)
    throw new MalformedEvidenceError('snp report', `TCB_VERSION must be 8 bytes, got ${raw.length}`);
  if (generation === 'Turin') {
    return { fmc: raw[0]!, bootloader: raw[1]!, tee: raw[2]!, snp: raw[3]!, microcode: raw[7]! };
  }
  return { bootloader: raw[0]!, tee: raw[1]!, snp: raw[6]!, microcode: raw[7]! };
}

/** Encode a TCB into the 8-byte TCB_VERSION layout of a generation (the inverse of decodeSnpTcb). */
export function encodeSnpTcb(tcb: SnpTcb, generation: SnpGeneration): Buffer {
  const out = Buffer.alloc(8);
  if (generation === 'Turin') {
    out[0] = tcb.fmc ?? 0;
    out[1] = tcb.bootloader;
    out[2] = tcb.tee;
    out[3] = tcb.snp;
  } else {
    out[0] = tcb.bootloader;
    out[1] = tcb.tee;
    out[6] = tcb.snp;
  }
  out[7] = tcb.microcode;
  return out;
}

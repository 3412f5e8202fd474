/**
 * The SNP evidence forms a verifier receives:
 * - Trustee / guest-components JSON: `{"attestation_report": {…sev crate serde…}, "cert_chain": [{cert_type, data}] | null}`.
 *   The report object is rebuilt into the exact 0x4A0 raw bytes so its signature can be checked.
 *   `attestation_report` may also be a base64 string of the raw report (our own attester's form).
 * - The host certificate table (configfs-tsm `auxblob` / extended report): GUID-keyed entries.
 */
import { MalformedEvidenceError } from './errors.js';
import {
  encodeSnpTcb,
  SNP_REPORT_SIZE,
  snpGenerationFromCpuid,
  type SnpGeneration,
  type SnpTcb,
} from './snp-report.js';

export type SnpCertType = 'ARK' | 'ASK' | 'VCEK' | 'VLEK' | 'CRL' | 'OTHER';

export interface SnpCertEntry {
  type: SnpCertType;
  /** The upstream cert_type string or GUID as received. */
  label: string;
  der: Buffer;
}

export interface SnpEvidence {
  report: Buffer;
  certs: SnpCertEntry[];
}

const KIND = 'snp evidence';

const GUIDS: Record<string, SnpCertType> = {
  '63da758d-e664-4564-adc5-f4b93be8accd': 'VCEK',
  'a8074bc2-a25a-483e-aae6-39c045a0b8a1': 'VLEK',
  '4ab7b379-bbac-4fe4-a02f-05aef327c782': 'ASK',
  'c0b406a4-a803-4952-9743-3fb6014cd0ae': 'ARK',
  '92f81bc3-5811-4d3d-97ff-d19f88dc67ea': 'CRL',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function byteArray(v: unknown, field: string, size?: number): Buffer {
  if (!Array.isArray(v)) throw new MalformedEvidenceError(KIND, 'expected an array of byte values', field);
  if (size !== undefined && v.length !== size)
    throw new MalformedEvidenceError(KIND, `expected ${size} bytes, got ${v.length}`, field);
  const out = Buffer.alloc(v.length);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) {
      throw new MalformedEvidenceError(KIND, `element ${i} is not a byte (0–255)`, field);
    }
    out[i] = x;
  });
  return out;
}

function uint(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new MalformedEvidenceError(KIND, `expected an integer 0–${max}`, field);
  }
  return v;
}

function u64(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(v)) {
    const b = BigInt(v);
    if (b <= 0xffffffffffffffffn) return b;
  }
  throw new MalformedEvidenceError(KIND, 'expected an unsigned 64-bit integer', field);
}

function tcb(v: unknown, field: string): SnpTcb {
  if (!isObject(v))
    throw new MalformedEvidenceError(KIND, 'expected a TCB object {fmc, bootloader, tee, snp, microcode}', field);
  const out: SnpTcb = {
    bootloader: uint(v.bootloader, `${field}.bootloader`, 255),
    tee: uint(v.tee, `${field}.tee`, 255),
    snp: uint(v.snp, `${field}.snp`, 255),
    microcode: uint(v.microcode, `${field}.microcode`, 255),
  };
  if (v.fmc !== null && v.fmc !== undefined) out.fmc = uint(v.fmc, `${field}.fmc`, 255);
  return out;
}

function fwVersion(v: unknown, field: string): [number, number, number] {
  if (!isObject(v)) throw new MalformedEvidenceError(KIND, 'expected {major, minor, build}', field);
  return [
    uint(v.build, `${field}.build`, 255),
    uint(v.minor, `${field}.minor`, 255),
    uint(v.major, `${field}.major`, 255),
  ];
}

/**
 * Rebuild the raw 0x4A0-byte report from the sev crate's JSON serialization. The TCB layout follows the generation
 * named by the CPUID fields (v3+); without them a TCB carrying `fmc` is taken as Turin, otherwise Milan/Genoa.
 */
export function snpReportFromJson(obj: unknown): Buffer {
  if (!isObject(obj)) throw new MalformedEvidenceError(KIND, 'expected a JSON object', 'attestation_report');
  const f = (k: string): string => `attestation_report.${k}`;
  const out = Buffer.alloc(SNP_REPORT_SIZE);
  const version = uint(obj.version, f('version'), 0xffffffff);
  out.writeUInt32LE(version, 0x000);
  out.writeUInt32LE(uint(obj.guest_svn, f('guest_svn'), 0xffffffff), 0x004);
  out.writeBigUInt64LE(u64(obj.policy, f('policy')), 0x008);
  byteArray(obj.family_id, f('family_id'), 16).copy(out, 0x010);
  byteArray(obj.image_id, f('image_id'), 16).copy(out, 0x020);
  out.writeUInt32LE(uint(obj.vmpl, f('vmpl'), 0xffffffff), 0x030);
  out.writeUInt32LE(uint(obj.sig_algo, f('sig_algo'), 0xffffffff), 0x034);

  const fam = obj.cpuid_fam_id;
  const mod = obj.cpuid_mod_id;
  const step = obj.cpuid_step;
  let generation: SnpGeneration | undefined;
  if (fam !== null && fam !== undefined) {
    const family = uint(fam, f('cpuid_fam_id'), 255);
    const model = uint(mod, f('cpuid_mod_id'), 255);
    const stepping = uint(step, f('cpuid_step'), 255);
    out[0x188] = family;
    out[0x189] = model;
    out[0x18a] = stepping;
    generation = snpGenerationFromCpuid(family, model);
  }
  const tcbs = {
    current: tcb(obj.current_tcb, f('current_tcb')),
    reported: tcb(obj.reported_tcb, f('reported_tcb')),
    committed: tcb(obj.committed_tcb, f('committed_tcb')),
    launch: tcb(obj.launch_tcb, f('launch_tcb')),
  };
  const gen: SnpGeneration = generation ?? (tcbs.reported.fmc !== undefined ? 'Turin' : 'Milan');
  encodeSnpTcb(tcbs.current, gen).copy(out, 0x038);
  out.writeBigUInt64LE(u64(obj.plat_info, f('plat_info')), 0x040);
  out.writeUInt32LE(uint(obj.key_info, f('key_info'), 0xffffffff), 0x048);
  byteArray(obj.report_data, f('report_data'), 64).copy(out, 0x050);
  byteArray(obj.measurement, f('measurement'), 48).copy(out, 0x090);
  byteArray(obj.host_data, f('host_data'), 32).copy(out, 0x0c0);
  byteArray(obj.id_key_digest, f('id_key_digest'), 48).copy(out, 0x0e0);
  byteArray(obj.author_key_digest, f('author_key_digest'), 48).copy(out, 0x110);
  byteArray(obj.report_id, f('report_id'), 32).copy(out, 0x140);
  byteArray(obj.report_id_ma, f('report_id_ma'), 32).copy(out, 0x160);
  encodeSnpTcb(tcbs.reported, gen).copy(out, 0x180);
  byteArray(obj.chip_id, f('chip_id'), 64).copy(out, 0x1a0);
  encodeSnpTcb(tcbs.committed, gen).copy(out, 0x1e0);
  if (obj.current !== undefined && obj.current !== null)
    Buffer.from(fwVersion(obj.current, f('current'))).copy(out, 0x1e8);
  if (obj.committed !== undefined && obj.committed !== null)
    Buffer.from(fwVersion(obj.committed, f('committed'))).copy(out, 0x1ec);
  encodeSnpTcb(tcbs.launch, gen).copy(out, 0x1f0);
  if (obj.launch_mit_vector !== undefined && obj.launch_mit_vector !== null) {
    out.writeBigUInt64LE(u64(obj.launch_mit_vector, f('launch_mit_vector')), 0x1f8);
  }
  if (obj.current_mit_vector !== undefined && obj.current_mit_vector !== null) {
    out.writeBigUInt64LE(u64(obj.current_mit_vector, f('current_mit_vector')), 0x200);
  }
  const sig = obj.signature;
  if (!isObject(sig)) throw new MalformedEvidenceError(KIND, 'expected {r, s}', f('signature'));
  byteArray(sig.r, f('signature.r'), 72).copy(out, 0x2a0);
  byteArray(sig.s, f('signature.s'), 72).copy(out, 0x2e8);
  return out;
}

function certTypeOf(label: string): SnpCertType {
  const up = label.toUpperCase();
  if (up === 'ARK' || up === 'ASK' || up === 'VCEK' || up === 'VLEK' || up === 'CRL') return up;
  return GUIDS[label.toLowerCase()] ?? 'OTHER';
}

function decodeB64Strict(s: string, field: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new MalformedEvidenceError(KIND, 'expected base64', field);
  return Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
}

/**
 * Parse the Trustee JSON evidence form (object or JSON text). The report may be the sev-crate object or base64 of
 * the raw bytes; `cert_chain` entries carry `data` as a byte array or base64.
 */
export function parseSnpEvidenceJson(input: unknown): SnpEvidence {
  let v = input;
  if (typeof v === 'string' || Buffer.isBuffer(v) || v instanceof Uint8Array) {
    try {
      v = JSON.parse(Buffer.from(v as string | Uint8Array).toString('utf8'));
    } catch (e) {
      throw new MalformedEvidenceError(KIND, 'not valid JSON', undefined, e);
    }
  }
  if (!isObject(v)) throw new MalformedEvidenceError(KIND, 'expected a JSON object with attestation_report');
  const ar = v.attestation_report;
  let report: Buffer;
  if (typeof ar === 'string') {
    report = decodeB64Strict(ar, 'attestation_report');
    if (report.length !== SNP_REPORT_SIZE) {
      throw new MalformedEvidenceError(
        KIND,
        `base64 report decodes to ${report.length} bytes, expected ${SNP_REPORT_SIZE}`,
        'attestation_report',
      );
    }
  } else if (ar === undefined) {
    throw new MalformedEvidenceError(KIND, 'missing', 'attestation_report');
  } else {
    report = snpReportFromJson(ar);
  }
  const certs: SnpCertEntry[] = [];
  const chain = v.cert_chain;
  if (chain !== undefined && chain !== null) {
    if (!Array.isArray(chain)) throw new MalformedEvidenceError(KIND, 'expected an array or null', 'cert_chain');
    chain.forEach((c, i) => {
      const field = `cert_chain[${i}]`;
      if (!isObject(c)) throw new MalformedEvidenceError(KIND, 'expected {cert_type, data}', field);
      const label =
        typeof c.cert_type === 'string'
          ? c.cert_type
          : isObject(c.cert_type)
            ? (Object.keys(c.cert_type)[0] ?? '')
            : '';
      if (!label) throw new MalformedEvidenceError(KIND, 'missing cert_type', `${field}.cert_type`);
      if (label === 'Empty') return;
      const der =
        typeof c.data === 'string' ? decodeB64Strict(c.data, `${field}.data`) : byteArray(c.data, `${field}.data`);
      certs.push({ type: certTypeOf(label), label, der });
    });
  }
  return { report, certs };
}

/**
 * Parse the host-supplied certificate table (auxblob): entries {guid[16], offset u32, length u32} ended by an
 * all-zero entry; offsets are relative to the table start. GUID bytes are in the standard mixed-endian layout.
 */
export function parseSnpCertTable(table: Uint8Array): SnpCertEntry[] {
  const buf = Buffer.from(table);
  const out: SnpCertEntry[] = [];
  for (let pos = 0; ; pos += 24) {
    if (pos + 24 > buf.length)
      throw new MalformedEvidenceError(
        'snp cert table',
        `entry at ${pos} runs past the end (${buf.length} bytes) without a terminator`,
      );
    const g = buf.subarray(pos, pos + 16);
    const offset = buf.readUInt32LE(pos + 16);
    const length = buf.readUInt32LE(pos + 20);
    if (g.every((x) => x === 0) && offset === 0 && length === 0) break;
    const guid = [
      Buffer.from(g.subarray(0, 4)).reverse().toString('hex'),
      Buffer.from(g.subarray(4, 6)).reverse().toString('hex'),
      Buffer.from(g.subarray(6, 8)).reverse().toString('hex'),
      g.subarray(8, 10).toString('hex'),
      g.subarray(10, 16).toString('hex'),
    ].join('-');
    if (offset + length > buf.length) {
      throw new MalformedEvidenceError(
        'snp cert table',
        `entry ${guid} points at [${offset}, ${offset + length}) beyond the table (${buf.length} bytes)`,
      );
    }
    out.push({ type: GUIDS[guid] ?? 'OTHER', label: guid, der: Buffer.from(buf.subarray(offset, offset + length)) });
  }
  return out;
}

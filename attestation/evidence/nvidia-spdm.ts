/**
 * NVIDIA GPU attestation report: an SPDM 1.1 GET_MEASUREMENTS request (37 bytes) followed by its signed response
 * (measurement record, responder nonce, opaque TLV data, 96-byte ECDSA P-384 signature). Hopper layout.
 */
import { ByteReader } from './byte-reader.js';
import { MalformedEvidenceError } from './errors.js';

const KIND = 'nvidia spdm report';
export const SPDM_REQUEST_SIZE = 37;
export const SPDM_SIGNATURE_SIZE = 96;

export interface SpdmMeasurementBlock {
  index: number;
  spec: number;
  valueType: number;
  value: Buffer;
}

export interface SpdmOpaqueField {
  type: number;
  value: Buffer;
}

export interface SpdmReport {
  raw: Buffer;
  request: { version: number; code: number; param1: number; param2: number; nonce: Buffer; slotId: number };
  response: { version: number; code: number; param1: number; param2: number };
  blocks: SpdmMeasurementBlock[];
  responderNonce: Buffer;
  opaque: SpdmOpaqueField[];
  /** Everything the signature covers (request + response up to the signature). */
  signedBytes: Buffer;
  /** r‖s, big-endian, 48 bytes each. */
  signature: Buffer;
}

/** Opaque data TLV types (NVIDIA SPDM opaque data). */
export const OPAQUE_TYPE: Readonly<Record<number, string>> = {
  1: 'cert_issuer_name',
  2: 'cert_authority_key_identifier',
  3: 'driver_version',
  4: 'gpu_info',
  5: 'sku',
  6: 'vbios_version',
  7: 'manufacturer_id',
  8: 'tamper_detection',
  9: 'smc',
  10: 'vpr',
  11: 'nvdec0_status',
  12: 'measurement_count',
  13: 'cpr_info',
  14: 'board_id',
  15: 'chip_sku',
  16: 'chip_sku_mod',
  17: 'project',
  18: 'project_sku',
  19: 'project_sku_mod',
  20: 'fwid',
  21: 'protected_pcie_status',
  22: 'switch_pdi',
  23: 'floorswept_ports',
  24: 'position_id',
  25: 'lock_switch_status',
  32: 'gpu_link_conn',
  33: 'sys_enable_status',
  34: 'opaque_data_version',
  35: 'chip_info',
  36: 'feature_flag',
};
export const OPAQUE_FWID = 20;

/** Parse the SPDM request+response blob. Throws MalformedEvidenceError naming the field on malformed input. */
export function parseSpdmReport(bytes: Uint8Array): SpdmReport {
  const r = new ByteReader(bytes, KIND);
  if (bytes.length < SPDM_REQUEST_SIZE + 8 + 32 + 2 + SPDM_SIGNATURE_SIZE) {
    throw new MalformedEvidenceError(KIND, `${bytes.length} bytes is too short for an SPDM measurements report`);
  }
  const request = {
    version: r.u8(0, 'request.version'),
    code: r.u8(1, 'request.code'),
    param1: r.u8(2, 'request.param1'),
    param2: r.u8(3, 'request.param2'),
    nonce: Buffer.from(r.bytes(4, 32, 'request.nonce')),
    slotId: r.u8(36, 'request.slot_id'),
  };
  if (request.code !== 0xe0)
    throw new MalformedEvidenceError(
      KIND,
      `request code 0x${request.code.toString(16)} is not GET_MEASUREMENTS (0xe0)`,
      'request.code',
    );
  if ((request.param1 & 1) !== 1)
    throw new MalformedEvidenceError(KIND, 'the request did not ask for a signature (param1 bit 0)', 'request.param1');
  const o = SPDM_REQUEST_SIZE;
  const response = {
    version: r.u8(o, 'response.version'),
    code: r.u8(o + 1, 'response.code'),
    param1: r.u8(o + 2, 'response.param1'),
    param2: r.u8(o + 3, 'response.param2'),
  };
  if (response.code !== 0x60)
    throw new MalformedEvidenceError(
      KIND,
      `response code 0x${response.code.toString(16)} is not MEASUREMENTS (0x60)`,
      'response.code',
    );
  if (response.version !== request.version)
    throw new MalformedEvidenceError(
      KIND,
      `response SPDM version 0x${response.version.toString(16)} != request 0x${request.version.toString(16)}`,
      'response.version',
    );
  const nBlocks = r.u8(o + 4, 'response.number_of_blocks');
  const recLen = r.u24(o + 5, 'response.measurement_record_length');
  const recStart = o + 8;
  r.need(recStart, recLen, 'measurement_record');
  const recEnd = recStart + recLen;
  const blocks: SpdmMeasurementBlock[] = [];
  let p = recStart;
  for (let i = 0; i < nBlocks; i++) {
    const f = `measurement_block[${i}]`;
    if (p + 4 > recEnd) throw new MalformedEvidenceError(KIND, 'block header runs past the measurement record', f);
    const index = r.u8(p, `${f}.index`);
    const spec = r.u8(p + 1, `${f}.spec`);
    const size = r.u16(p + 2, `${f}.size`);
    if (p + 4 + size > recEnd)
      throw new MalformedEvidenceError(KIND, `block of ${size} bytes runs past the measurement record`, f);
    if (spec !== 1 || size < 3)
      throw new MalformedEvidenceError(KIND, `block spec ${spec} (size ${size}) is not a DMTF measurement`, f);
    const valueType = r.u8(p + 4, `${f}.dmtf.type`);
    const vSize = r.u16(p + 5, `${f}.dmtf.size`);
    if (vSize + 3 !== size)
      throw new MalformedEvidenceError(KIND, `DMTF value size ${vSize} does not match block size ${size}`, f);
    blocks.push({ index, spec, valueType, value: Buffer.from(r.bytes(p + 7, vSize, `${f}.value`)) });
    p += 4 + size;
  }
  if (p !== recEnd)
    throw new MalformedEvidenceError(
      KIND,
      `${recEnd - p} bytes left over after ${nBlocks} blocks`,
      'measurement_record',
    );
  const responderNonce = Buffer.from(r.bytes(p, 32, 'response.nonce'));
  p += 32;
  const opaqueLen = r.u16(p, 'response.opaque_length');
  p += 2;
  r.need(p, opaqueLen, 'opaque_data');
  const opaqueEnd = p + opaqueLen;
  const opaque: SpdmOpaqueField[] = [];
  while (p < opaqueEnd) {
    if (p + 4 > opaqueEnd)
      throw new MalformedEvidenceError(KIND, 'TLV header runs past the opaque data', `opaque_data@${p}`);
    const type = r.u16(p, 'opaque.type');
    const len = r.u16(p + 2, 'opaque.length');
    if (p + 4 + len > opaqueEnd)
      throw new MalformedEvidenceError(
        KIND,
        `TLV type ${type} of ${len} bytes runs past the opaque data`,
        `opaque_data@${p}`,
      );
    opaque.push({ type, value: Buffer.from(r.bytes(p + 4, len, `opaque.${type}`)) });
    p += 4 + len;
  }
  const sigStart = p;
  if (bytes.length !== sigStart + SPDM_SIGNATURE_SIZE) {
    throw new MalformedEvidenceError(
      KIND,
      `expected a ${SPDM_SIGNATURE_SIZE}-byte signature at ${sigStart}, but ${bytes.length - sigStart} bytes remain`,
      'signature',
    );
  }
  return {
    raw: Buffer.from(bytes),
    request,
    response,
    blocks,
    responderNonce,
    opaque,
    signedBytes: Buffer.from(r.bytes(0, sigStart, 'signed region')),
    signature: Buffer.from(r.bytes(sigStart, SPDM_SIGNATURE_SIZE, 'signature')),
  };
}

const STRING_FIELDS = new Set([3, 15, 16, 17, 18]);
const CHAR_FIELDS = new Set([11, 21]);

/** Decode the opaque fields into trustee's `config` claim values (strings, versions, counts, hex). */
export function opaqueClaims(fields: readonly SpdmOpaqueField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { type, value } of fields) {
    const name = OPAQUE_TYPE[type] ?? `opaque_${type}`;
    if (STRING_FIELDS.has(type)) out[name] = value.toString('latin1').replace(/\0+$/, '');
    else if (CHAR_FIELDS.has(type)) out[name] = value.toString('latin1');
    else if (type === 6 && value.length >= 5) {
      out[name] = [value[3]!, value[2]!, value[1]!, value[0]!, value[4]!]
        .map((x) => x.toString(16).padStart(2, '0'))
        .join('.');
    } else if (type === 12 && value.length % 4 === 0) {
      const counts: Record<string, number> = {};
      for (let i = 0; i < value.length / 4; i++) counts[String(i + 1)] = value.readUInt32LE(i * 4);
      out[name] = counts;
    } else out[name] = value.toString('hex');
  }
  return out;
}

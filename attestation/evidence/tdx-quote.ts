/**
 * Intel TDX DCAP quote, versions 4 and 5 (body type 2 = TDX 1.0, 3 = TDX 1.5), ECDSA-P256 attestation key.
 * Parsed strictly by the length fields (never the blob size: quotes may carry trailing zero bytes).
 */
import { ByteReader } from './byte-reader.js';
import { MalformedEvidenceError } from './errors.js';

const KIND = 'tdx quote';
export const TDX_HEADER_SIZE = 48;
export const TDX_BODY_SIZE_10 = 584;
export const TDX_BODY_SIZE_15 = 648;
export const SGX_REPORT_BODY_SIZE = 384;
export const TDX_TEE_TYPE = 0x81;
export const ATT_KEY_ECDSA_P256 = 2;
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export interface TdxQuoteHeader {
  version: number;
  attKeyType: number;
  teeType: number;
  reserved: Buffer;
  vendorId: Buffer;
  userData: Buffer;
  raw: Buffer;
}

export interface TdxReportBody {
  teeTcbSvn: Buffer;
  mrSeam: Buffer;
  mrSignerSeam: Buffer;
  seamAttributes: Buffer;
  tdAttributes: Buffer;
  xfam: Buffer;
  mrTd: Buffer;
  mrConfigId: Buffer;
  mrOwner: Buffer;
  mrOwnerConfig: Buffer;
  rtmrs: [Buffer, Buffer, Buffer, Buffer];
  reportData: Buffer;
  /** TDX 1.5 only. */
  teeTcbSvn2?: Buffer;
  mrServiceTd?: Buffer;
}

export interface SgxReportBody {
  raw: Buffer;
  cpuSvn: Buffer;
  miscSelect: number;
  attributes: Buffer;
  mrEnclave: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  isvSvn: number;
  reportData: Buffer;
}

export interface TdxQuote {
  header: TdxQuoteHeader;
  /** 2 (TDX 1.0) or 3 (TDX 1.5); v4 quotes are always 2. */
  bodyType: number;
  body: TdxReportBody;
  /** The bytes the quote signature covers: header (+ v5 type/size) + body. */
  signedBytes: Buffer;
  signature: Buffer;
  attestationKey: Buffer;
  qeReport: SgxReportBody;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  /** The PCK certificate chain (PEM text, leaf first). */
  pckChainPem: string;
  /** Bytes consumed by the quote (the rest of the blob, if any, is ignored padding). */
  size: number;
}

function parseBody(r: ByteReader, off: number, type: number): TdxReportBody {
  const b = (o: number, n: number, f: string): Buffer => Buffer.from(r.bytes(off + o, n, `body.${f}`));
  const body: TdxReportBody = {
    teeTcbSvn: b(0, 16, 'tee_tcb_svn'),
    mrSeam: b(16, 48, 'mr_seam'),
    mrSignerSeam: b(64, 48, 'mrsigner_seam'),
    seamAttributes: b(112, 8, 'seam_attributes'),
    tdAttributes: b(120, 8, 'td_attributes'),
    xfam: b(128, 8, 'xfam'),
    mrTd: b(136, 48, 'mr_td'),
    mrConfigId: b(184, 48, 'mr_config_id'),
    mrOwner: b(232, 48, 'mr_owner'),
    mrOwnerConfig: b(280, 48, 'mr_owner_config'),
    rtmrs: [b(328, 48, 'rtmr_0'), b(376, 48, 'rtmr_1'), b(424, 48, 'rtmr_2'), b(472, 48, 'rtmr_3')],
    reportData: b(520, 64, 'report_data'),
  };
  if (type === 3) {
    body.teeTcbSvn2 = b(584, 16, 'tee_tcb_svn2');
    body.mrServiceTd = b(600, 48, 'mr_servicetd');
  }
  return body;
}

export function parseSgxReportBody(bytes: Uint8Array, kind = 'qe report'): SgxReportBody {
  const r = new ByteReader(bytes, kind);
  r.need(0, SGX_REPORT_BODY_SIZE, 'report');
  const b = (o: number, n: number, f: string): Buffer => Buffer.from(r.bytes(o, n, f));
  return {
    raw: b(0, SGX_REPORT_BODY_SIZE, 'report'),
    cpuSvn: b(0, 16, 'cpusvn'),
    miscSelect: r.u32(16, 'miscselect'),
    attributes: b(48, 16, 'attributes'),
    mrEnclave: b(64, 32, 'mrenclave'),
    mrSigner: b(128, 32, 'mrsigner'),
    isvProdId: r.u16(256, 'isvprodid'),
    isvSvn: r.u16(258, 'isvsvn'),
    reportData: b(320, 64, 'report_data'),
  };
}

/** Parse a TDX quote. Throws MalformedEvidenceError naming the field on any malformed or unsupported input. */
export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  const r = new ByteReader(bytes, KIND);
  r.need(0, TDX_HEADER_SIZE, 'header');
  const version = r.u16(0, 'header.version');
  const attKeyType = r.u16(2, 'header.att_key_type');
  const teeType = r.u32(4, 'header.tee_type');
  if (version !== 4 && version !== 5)
    throw new MalformedEvidenceError(KIND, `unsupported quote version ${version} (expected 4 or 5)`, 'header.version');
  if (teeType !== TDX_TEE_TYPE)
    throw new MalformedEvidenceError(KIND, `tee_type 0x${teeType.toString(16)} is not TDX (0x81)`, 'header.tee_type');
  if (attKeyType !== ATT_KEY_ECDSA_P256)
    throw new MalformedEvidenceError(KIND, `att_key_type ${attKeyType} is not ECDSA-P256 (2)`, 'header.att_key_type');
  const header: TdxQuoteHeader = {
    version,
    attKeyType,
    teeType,
    reserved: Buffer.from(r.bytes(8, 4, 'header.reserved')),
    vendorId: Buffer.from(r.bytes(12, 16, 'header.vendor_id')),
    userData: Buffer.from(r.bytes(28, 20, 'header.user_data')),
    raw: Buffer.from(r.bytes(0, TDX_HEADER_SIZE, 'header')),
  };
  let bodyOff = TDX_HEADER_SIZE;
  let bodyType = 2;
  let bodySize = TDX_BODY_SIZE_10;
  if (version === 5) {
    bodyType = r.u16(48, 'body_type');
    bodySize = r.u32(50, 'body_size');
    const want = bodyType === 2 ? TDX_BODY_SIZE_10 : bodyType === 3 ? TDX_BODY_SIZE_15 : undefined;
    if (want === undefined)
      throw new MalformedEvidenceError(
        KIND,
        `body type ${bodyType} is not a TD report (2 = TDX 1.0, 3 = TDX 1.5)`,
        'body_type',
      );
    if (bodySize !== want)
      throw new MalformedEvidenceError(
        KIND,
        `body size ${bodySize} does not match body type ${bodyType} (expected ${want})`,
        'body_size',
      );
    bodyOff = 54;
  }
  r.need(bodyOff, bodySize, 'body');
  const body = parseBody(r, bodyOff, bodyType);
  const sigLenOff = bodyOff + bodySize;
  const signedBytes = Buffer.from(r.bytes(0, sigLenOff, 'signed region'));
  const sigLen = r.u32(sigLenOff, 'signature_data_len');
  let p = sigLenOff + 4;
  r.need(p, sigLen, 'signature_data');
  const sigEnd = p + sigLen;
  const inSig = (n: number, f: string): void => {
    if (p + n > sigEnd)
      throw new MalformedEvidenceError(KIND, `needs ${n} bytes at ${p} but signature_data ends at ${sigEnd}`, f);
  };
  inSig(128, 'signature');
  const signature = Buffer.from(r.bytes(p, 64, 'signature'));
  const attestationKey = Buffer.from(r.bytes(p + 64, 64, 'attestation_key'));
  p += 128;
  inSig(6, 'certification_data');
  const certType = r.u16(p, 'certification_data.type');
  const certLen = r.u32(p + 2, 'certification_data.size');
  p += 6;
  if (certType !== 6)
    throw new MalformedEvidenceError(
      KIND,
      `certification data type ${certType}; expected 6 (QE report certification data)`,
      'certification_data.type',
    );
  inSig(certLen, 'certification_data');
  const certEnd = p + certLen;
  const inCert = (n: number, f: string): void => {
    if (p + n > certEnd)
      throw new MalformedEvidenceError(
        KIND,
        `needs ${n} bytes at ${p} but the QE certification data ends at ${certEnd}`,
        f,
      );
  };
  inCert(SGX_REPORT_BODY_SIZE + 64 + 2, 'qe_report');
  const qeReport = parseSgxReportBody(r.bytes(p, SGX_REPORT_BODY_SIZE, 'qe_report'));
  p += SGX_REPORT_BODY_SIZE;
  const qeReportSignature = Buffer.from(r.bytes(p, 64, 'qe_report_signature'));
  p += 64;
  const authLen = r.u16(p, 'qe_auth_data.size');
  p += 2;
  inCert(authLen, 'qe_auth_data');
  const qeAuthData = Buffer.from(r.bytes(p, authLen, 'qe_auth_data'));
  p += authLen;
  inCert(6, 'pck_cert_chain');
  const innerType = r.u16(p, 'pck_cert_chain.type');
  const innerLen = r.u32(p + 2, 'pck_cert_chain.size');
  p += 6;
  if (innerType !== 5)
    throw new MalformedEvidenceError(
      KIND,
      `QE certification data type ${innerType}; expected 5 (PCK certificate chain)`,
      'pck_cert_chain.type',
    );
  inCert(innerLen, 'pck_cert_chain');
  const pckChainPem = r.bytes(p, innerLen, 'pck_cert_chain').toString('latin1').replace(/\0+$/, '');
  return {
    header,
    bodyType,
    body,
    signedBytes,
    signature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    pckChainPem,
    size: sigEnd,
  };
}

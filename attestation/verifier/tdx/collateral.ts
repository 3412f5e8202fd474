/**
 * Intel PCS collateral: TDX TCB info (`tdx/certification/v4/tcb`) and QE identity (`tdx/certification/v4/qe/identity`).
 * Each body is `{"<name>":{…},"signature":"<hex r‖s>"}`; the signature (ECDSA-P256/SHA-256 by "Intel SGX TCB
 * Signing") covers the exact text of the inner object as received, so it is cut out of the text, never re-serialized.
 */
import { verify as cryptoVerify, type X509Certificate } from 'node:crypto';

export interface SignedCollateral<T> {
  /** The inner object as parsed. */
  value: T;
  /** The exact inner object text the signature covers. */
  signedText: string;
  signature: Buffer;
}

export interface TcbComponent {
  svn: number;
  category?: string;
  type?: string;
}

export interface TdxTcbLevel {
  tcb: { sgxtcbcomponents: TcbComponent[]; pcesvn: number; tdxtcbcomponents?: TcbComponent[]; isvsvn?: number };
  tcbDate: string;
  tcbStatus: string;
  advisoryIDs?: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrsigner: string;
  attributes: string;
  attributesMask: string;
  tcbLevels: Array<{ tcb: { isvsvn: number }; tcbDate: string; tcbStatus: string; advisoryIDs?: string[] }>;
}

export interface TdxTcbInfo {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  fmspc: string;
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: { mrsigner: string; attributes: string; attributesMask: string };
  tdxModuleIdentities?: TdxModuleIdentity[];
  tcbLevels: TdxTcbLevel[];
}

export interface QeIdentity {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvprodid: number;
  tcbLevels: Array<{ tcb: { isvsvn: number }; tcbDate: string; tcbStatus: string; advisoryIDs?: string[] }>;
}

/** Find the end of the JSON value starting at `start` (an object), honouring strings and escapes. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inStr = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inStr) {
      if (ch === '\\') i++;
      else if (ch === '"') inStr = false;
    } else if (ch === '"') inStr = true;
    else if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error('unterminated JSON object');
}

/** Cut `{"<key>":{…},"signature":"…"}` into its inner object text, parsed value and signature. */
export function parseSignedCollateral<T>(
  body: string | Uint8Array,
  key: 'tcbInfo' | 'enclaveIdentity',
  what: string,
): SignedCollateral<T> {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  let outer: unknown;
  try {
    outer = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof outer !== 'object' || outer === null || !(key in outer))
    throw new Error(`${what}: expected an object with "${key}" and "signature"`);
  const sigHex = (outer as Record<string, unknown>).signature;
  if (typeof sigHex !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sigHex))
    throw new Error(`${what}: "signature" must be 128 hex characters (r‖s)`);
  const m = new RegExp(`"${key}"\\s*:\\s*`).exec(text);
  if (!m) throw new Error(`${what}: "${key}" not found in the text`);
  const start = m.index + m[0].length;
  if (text[start] !== '{') throw new Error(`${what}: "${key}" is not an object`);
  const signedText = text.slice(start, objectEnd(text, start));
  return { value: (outer as Record<string, unknown>)[key] as T, signedText, signature: Buffer.from(sigHex, 'hex') };
}

export function collateralSignatureOk(c: SignedCollateral<unknown>, signer: X509Certificate): boolean {
  try {
    return cryptoVerify(
      'sha256',
      Buffer.from(c.signedText, 'utf8'),
      { key: signer.publicKey, dsaEncoding: 'ieee-p1363' },
      c.signature,
    );
  } catch {
    return false;
  }
}

/** Undefined when issueDate ≤ now ≤ nextUpdate, else the reason. */
export function collateralDateProblem(
  v: { issueDate: string; nextUpdate: string },
  now: Date,
  what: string,
): string | undefined {
  const issued = new Date(v.issueDate);
  const next = new Date(v.nextUpdate);
  if (Number.isNaN(issued.getTime()) || Number.isNaN(next.getTime())) return `${what}: unreadable issueDate/nextUpdate`;
  if (now < issued) return `${what} is issued ${v.issueDate}, after now (${now.toISOString()})`;
  if (now > next) return `${what} expired: nextUpdate ${v.nextUpdate} is before now (${now.toISOString()})`;
  return undefined;
}

function hexEq(a: Buffer, hexStr: string): boolean {
  return a.toString('hex') === hexStr.toLowerCase();
}

function maskedEq(value: Buffer, expectHex: string, maskHex: string): boolean {
  const want = Buffer.from(expectHex, 'hex');
  const mask = Buffer.from(maskHex, 'hex');
  if (want.length !== value.length || mask.length !== value.length) return false;
  for (let i = 0; i < value.length; i++) if ((value[i]! & mask[i]!) !== (want[i]! & mask[i]!)) return false;
  return true;
}

export interface TdxTcbEvaluation {
  /** The platform TCB status, or undefined when no level matched. */
  status?: string;
  tcbDate?: string;
  advisoryIds: string[];
  /** TDX module identity status (TDX 1.5, tee_tcb_svn[1] > 0). */
  moduleId?: string;
  moduleStatus?: string;
  problems: string[];
}

/**
 * Match the platform TCB (PCK SVNs + the TD's tee_tcb_svn) against the tcbInfo levels: the first level whose every
 * component is ≤ the platform's gives the status. Also checks the TDX module's mrsigner/attributes.
 */
export function evaluateTdxTcb(
  info: TdxTcbInfo,
  pck: { sgxTcbComponents: number[]; pceSvn: number },
  teeTcbSvn: Buffer,
  mrSignerSeam: Buffer,
  seamAttributes: Buffer,
): TdxTcbEvaluation {
  const out: TdxTcbEvaluation = { advisoryIds: [], problems: [] };
  const moduleMajor = teeTcbSvn[1]!;
  const skip = moduleMajor > 0 ? 2 : 0;
  const level = info.tcbLevels.find((l) => {
    const sgx = l.tcb.sgxtcbcomponents;
    if (!Array.isArray(sgx) || sgx.length !== 16) return false;
    if (!sgx.every((c, i) => pck.sgxTcbComponents[i]! >= c.svn)) return false;
    if (pck.pceSvn < l.tcb.pcesvn) return false;
    const tdx = l.tcb.tdxtcbcomponents ?? [];
    return tdx.every((c, i) => i < skip || (teeTcbSvn[i] ?? 0) >= c.svn);
  });
  if (level) {
    out.status = level.tcbStatus;
    out.tcbDate = level.tcbDate;
    out.advisoryIds.push(...(level.advisoryIDs ?? []));
  } else out.problems.push('no TCB level matched the platform (PCK SVNs and tee_tcb_svn are below every level)');

  if (moduleMajor > 0 && info.tdxModuleIdentities) {
    const id = `TDX_${String(moduleMajor).padStart(2, '0')}`;
    out.moduleId = id;
    const mod = info.tdxModuleIdentities.find((m) => m.id === id);
    if (!mod) out.problems.push(`tcbInfo has no TDX module identity ${id}`);
    else {
      if (!hexEq(mrSignerSeam, mod.mrsigner)) out.problems.push(`mrsigner_seam does not match module identity ${id}`);
      if (!maskedEq(seamAttributes, mod.attributes, mod.attributesMask))
        out.problems.push(`seam_attributes do not match module identity ${id}`);
      const ml = mod.tcbLevels.find((l) => teeTcbSvn[0]! >= l.tcb.isvsvn);
      if (!ml) out.problems.push(`no TCB level of ${id} matched module SVN ${teeTcbSvn[0]}`);
      else {
        out.moduleStatus = ml.tcbStatus;
        out.advisoryIds.push(...(ml.advisoryIDs ?? []));
      }
    }
  } else if (info.tdxModule) {
    if (!hexEq(mrSignerSeam, info.tdxModule.mrsigner))
      out.problems.push('mrsigner_seam does not match tcbInfo.tdxModule.mrsigner');
    if (!maskedEq(seamAttributes, info.tdxModule.attributes, info.tdxModule.attributesMask))
      out.problems.push('seam_attributes do not match tcbInfo.tdxModule');
  }
  return out;
}

export interface QeEvaluation {
  status?: string;
  problems: string[];
}

/** Check the QE report against the QE identity and map its ISVSVN to a TCB status. */
export function evaluateQeIdentity(
  id: QeIdentity,
  qe: { mrSigner: Buffer; isvProdId: number; miscSelect: number; attributes: Buffer; isvSvn: number },
): QeEvaluation {
  const problems: string[] = [];
  if (!hexEq(qe.mrSigner, id.mrsigner))
    problems.push(`QE mrsigner ${qe.mrSigner.toString('hex')} != identity ${id.mrsigner.toLowerCase()}`);
  if (qe.isvProdId !== id.isvprodid) problems.push(`QE isvprodid ${qe.isvProdId} != identity ${id.isvprodid}`);
  const misc = Buffer.alloc(4);
  misc.writeUInt32LE(qe.miscSelect);
  // miscselect hex strings are big-endian u32 text.
  const miscBe = Buffer.from(misc).reverse();
  if (!maskedEq(miscBe, id.miscselect, id.miscselectMask))
    problems.push('QE miscselect does not match the identity under its mask');
  if (!maskedEq(qe.attributes, id.attributes, id.attributesMask))
    problems.push('QE attributes do not match the identity under its mask');
  const level = id.tcbLevels.find((l) => qe.isvSvn >= l.tcb.isvsvn);
  if (!level) problems.push(`QE isvsvn ${qe.isvSvn} is below every QE identity TCB level`);
  return { status: level?.tcbStatus, problems };
}

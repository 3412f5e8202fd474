/**
 * Intel TDX DCAP verification in TypeScript: quote signature (attestation key), QE report binding, QE report
 * signature (PCK), PCK chain to the pinned Intel SGX Root CA, TCB status from signed Intel collateral (tcbInfo and QE
 * identity, with an injectable clock), and the TD claims against the caller's expectations.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject, type X509Certificate } from 'node:crypto';
import { hex, isAllZero } from '../../evidence/byte-reader.js';
import { INTEL_QE_VENDOR_ID, parseTdxQuote, type TdxQuote } from '../../evidence/tdx-quote.js';
import {
  issuedByProblem,
  loadCertificates,
  normalizeFingerprint,
  validityProblem,
  type CertInput,
} from '../certificates.js';
import { CheckList, guarded } from '../check-list.js';
import { regularize, shortHex } from '../report-data.js';
import type { CommonVerifyOptions, VerificationResult } from '../types.js';
import {
  collateralDateProblem,
  collateralSignatureOk,
  evaluateQeIdentity,
  evaluateTdxTcb,
  parseSignedCollateral,
  type QeIdentity,
  type TdxTcbInfo,
} from './collateral.js';
import { INTEL_SGX_ROOT_CA_SHA256 } from './intel-roots.js';
import { readPckExtensions, type PckExtensions } from './pck-extensions.js';

export interface TdxCollateral {
  /** The PCS `tdx/certification/v4/tcb` response body, as received. */
  tcbInfo: string | Uint8Array;
  /** The PCS `tdx/certification/v4/qe/identity` response body, as received. */
  qeIdentity: string | Uint8Array;
  /** The TCB-Info-Issuer-Chain: "Intel SGX TCB Signing" then the root (PEM). */
  issuerChain: CertInput;
}

/** TCB statuses accepted by default (trustee's set): everything except Revoked and unknown values. */
export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly string[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
];

export interface TdxVerifyOptions extends CommonVerifyOptions {
  collateral?: TdxCollateral;
  /** Called with the PCK's FMSPC (hex) when no collateral is given, e.g. `fetchTdxCollateralFromPcs`. Cache it. */
  fetchCollateral?: (fmspc: string) => Promise<TdxCollateral>;
  /** Without collateral the TCB status is unknown and verification fails, unless this is set. */
  allowMissingCollateral?: boolean;
  acceptedTcbStatuses?: readonly string[];
  /** Allow TDs with td_attributes.DEBUG. Default false. */
  allowDebug?: boolean;
  expectedMrTd?: Uint8Array | Uint8Array[];
  /** Expected RTMR values by index (undefined entries are not checked). */
  expectedRtmrs?: Array<Uint8Array | undefined>;
  /** Expected MRCONFIGID (the initdata digest); fitted to 48 bytes. */
  expectedMrConfigId?: Uint8Array;
  /** Trustee-shaped expected claims (e.g. parse_tdx_claims_expected.json); every leaf must equal the parsed claim. */
  expectedClaims?: Record<string, unknown>;
}

/** Claims the verifier cannot produce without extra input (the CC event log); skipped when comparing claims. */
const CLAIMS_NEEDING_EVENTLOG = ['uefi_event_logs'];

/** Trustee-named claims for a quote. */
export function tdxClaims(q: TdxQuote, pck?: PckExtensions): Record<string, unknown> {
  const b = q.body;
  const body: Record<string, string> = {
    mr_config_id: hex(b.mrConfigId),
    mr_owner: hex(b.mrOwner),
    mr_owner_config: hex(b.mrOwnerConfig),
    mr_seam: hex(b.mrSeam),
    mr_td: hex(b.mrTd),
    mrsigner_seam: hex(b.mrSignerSeam),
    report_data: hex(b.reportData),
    rtmr_0: hex(b.rtmrs[0]),
    rtmr_1: hex(b.rtmrs[1]),
    rtmr_2: hex(b.rtmrs[2]),
    rtmr_3: hex(b.rtmrs[3]),
    seam_attributes: hex(b.seamAttributes),
    tcb_svn: hex(b.teeTcbSvn),
    td_attributes: hex(b.tdAttributes),
    xfam: hex(b.xfam),
  };
  if (b.teeTcbSvn2) body.tcb_svn_2 = hex(b.teeTcbSvn2);
  if (b.mrServiceTd) body.mr_servicetd = hex(b.mrServiceTd);
  const h = q.header.raw;
  const quote: Record<string, unknown> = {
    header: {
      version: hex(h.subarray(0, 2)),
      att_key_type: hex(h.subarray(2, 4)),
      tee_type: hex(h.subarray(4, 8)),
      reserved: hex(q.header.reserved),
      vendor_id: hex(q.header.vendorId),
      user_data: hex(q.header.userData),
    },
    body,
  };
  if (q.header.version === 5) quote.type = q.bodyType;
  const a = b.tdAttributes;
  const claims: Record<string, unknown> = {
    quote,
    report_data: hex(b.reportData),
    init_data: hex(b.mrConfigId),
    td_attributes: {
      debug: (a[0]! & 0x01) !== 0,
      septve_disable: (a[3]! & 0x10) !== 0,
      protection_keys: (a[3]! & 0x40) !== 0,
      key_locker: (a[3]! & 0x80) !== 0,
      perfmon: (a[7]! & 0x80) !== 0,
    },
  };
  if (pck) {
    claims.fmspc = hex(pck.fmspc);
    // Trustee prints the platform instance ID byte-reversed relative to the DER; keep its form for policy compatibility.
    if (pck.platformInstanceId) claims.platform_instance_id = hex(Buffer.from(pck.platformInstanceId).reverse());
  }
  return claims;
}

function p256Key(xy: Buffer): KeyObject {
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: xy.subarray(0, 32).toString('base64url'),
      y: xy.subarray(32, 64).toString('base64url'),
    },
    format: 'jwk',
  });
}

function ecdsaOk(alg: string, data: Buffer, key: KeyObject | (() => KeyObject), sig: Buffer): boolean {
  try {
    return cryptoVerify(alg, data, { key: typeof key === 'function' ? key() : key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
}

/** Compare expected claims leaf by leaf; returns the mismatches and the skipped top-level keys. */
export function compareClaims(
  claims: Record<string, unknown>,
  expected: Record<string, unknown>,
): { mismatches: string[]; skipped: string[] } {
  const want = new Map<string, unknown>();
  const have = new Map<string, unknown>();
  flatten(expected, '', want);
  flatten(claims, '', have);
  const mismatches: string[] = [];
  const skipped = new Set<string>();
  for (const [k, v] of want) {
    const top = k.split('.')[0]!;
    if (CLAIMS_NEEDING_EVENTLOG.includes(top)) {
      skipped.add(top);
      continue;
    }
    if (!have.has(k)) mismatches.push(`${k} is not produced`);
    else if (JSON.stringify(have.get(k)) !== JSON.stringify(v))
      mismatches.push(`${k} = ${JSON.stringify(have.get(k))}, expected ${JSON.stringify(v)}`);
  }
  return { mismatches, skipped: [...skipped] };
}

function anyEqual(value: Buffer, allowed: Uint8Array | Uint8Array[]): boolean {
  const list = allowed instanceof Uint8Array ? [allowed] : allowed;
  return list.some((a) => Buffer.compare(Buffer.from(a), value) === 0);
}

/** Verify a raw TDX quote. Never throws: malformed input becomes a failed `parse` check. */
export async function verifyTdx(quoteBytes: Uint8Array, opts: TdxVerifyOptions = {}): Promise<VerificationResult> {
  const now = opts.now ?? new Date();
  const checks = new CheckList(opts.logger);
  const q = checks.attempt('parse', () => parseTdxQuote(quoteBytes));
  if (!q) return checks.result('tdx', {});
  return guarded(
    'tdx',
    checks,
    () => tdxClaims(q),
    () => verifyParsedTdx(q, checks, now, opts),
  );
}

async function verifyParsedTdx(
  q: TdxQuote,
  checks: CheckList,
  now: Date,
  opts: TdxVerifyOptions,
): Promise<VerificationResult> {
  checks.pass('parse', `TDX quote v${q.header.version}, body type ${q.bodyType}`);

  const vendor = hex(q.header.vendorId);
  checks.add(
    'qe_vendor',
    vendor === INTEL_QE_VENDOR_ID,
    vendor === INTEL_QE_VENDOR_ID ? 'Intel QE' : `QE vendor ${vendor} is not Intel's ${INTEL_QE_VENDOR_ID}`,
  );

  // 1. Quote signature by the attestation key.
  const attKey = checks.attempt('quote_signature', () => p256Key(q.attestationKey));
  if (attKey) {
    const ok = ecdsaOk('sha256', q.signedBytes, attKey, q.signature);
    checks.add(
      'quote_signature',
      ok,
      ok
        ? 'ECDSA-P256 quote signature verifies with the attestation key'
        : 'the quote signature does not verify with the attestation key',
    );
  }

  // 2. QE report binds the attestation key.
  const digest = createHash('sha256').update(q.attestationKey).update(q.qeAuthData).digest();
  const bound = digest.equals(q.qeReport.reportData.subarray(0, 32)) && isAllZero(q.qeReport.reportData.subarray(32));
  checks.add(
    'qe_report_data',
    bound,
    bound
      ? 'QE report_data = SHA-256(attestation key ‖ QE auth data)'
      : 'QE report_data does not bind the attestation key and auth data',
  );

  // 3. PCK chain to the pinned Intel root, and the QE report signature by the PCK key.
  let pckExt: PckExtensions | undefined;
  const chain = checks.attempt('pck_chain', () => loadCertificates(q.pckChainPem, 'PCK certificate chain'));
  if (chain) {
    if (chain.length < 3)
      checks.fail('pck_chain', `PCK chain has ${chain.length} certificates; expected leaf, intermediate CA and root`);
    else {
      const [leaf, inter, root] = chain as [X509Certificate, X509Certificate, X509Certificate];
      const fp = normalizeFingerprint(root.fingerprint256);
      const problems = [
        fp === INTEL_SGX_ROOT_CA_SHA256 ? undefined : `root fingerprint ${fp} is not the pinned Intel SGX Root CA`,
        issuedByProblem(root, root, 'root', 'root'),
        issuedByProblem(inter, root, 'PCK intermediate CA', 'Intel SGX Root CA'),
        issuedByProblem(leaf, inter, 'PCK certificate', 'PCK intermediate CA'),
        validityProblem(root, now, 'Intel SGX Root CA'),
        validityProblem(inter, now, 'PCK intermediate CA'),
        validityProblem(leaf, now, 'PCK certificate'),
      ].filter((x): x is string => typeof x === 'string');
      checks.add(
        'pck_chain',
        problems.length === 0,
        problems.length ? problems.join('; ') : 'PCK ← intermediate ← pinned Intel SGX Root CA',
      );
      const ok = ecdsaOk('sha256', q.qeReport.raw, () => leaf.publicKey, q.qeReportSignature);
      checks.add(
        'qe_report_signature',
        ok,
        ok ? 'QE report signed by the PCK key' : 'the QE report signature does not verify with the PCK key',
      );
      pckExt = checks.attempt('pck_extensions', () => readPckExtensions(leaf));
      if (pckExt) checks.pass('pck_extensions', `FMSPC ${hex(pckExt.fmspc)}`);
    }
  }

  const claims = tdxClaims(q, pckExt);

  // 4. TCB status from collateral (given, or fetched by FMSPC through the hook).
  let collateral = opts.collateral;
  if (!collateral && opts.fetchCollateral && pckExt) {
    const fmspc = hex(pckExt.fmspc);
    try {
      collateral = await opts.fetchCollateral(fmspc);
    } catch (e) {
      checks.fail('collateral', `fetching collateral for FMSPC ${fmspc} failed: ${(e as Error).message}`);
    }
  }
  if (!collateral) {
    if (checks.checks.some((c) => c.name === 'collateral')) {
      // the fetch failure is already recorded
    } else if (opts.allowMissingCollateral)
      checks.pass('collateral', 'no collateral; TCB status not evaluated (allowed by option)');
    else checks.fail('collateral', 'no Intel collateral (tcbInfo, QE identity) given, so the TCB status is unknown');
  } else {
    const col = collateral;
    const signer = checks.attempt('tcb_signing_chain', () => {
      const certs = loadCertificates(col.issuerChain, 'TCB signing chain');
      const leaf = certs[0]!;
      const root = certs.find((c) => normalizeFingerprint(c.fingerprint256) === INTEL_SGX_ROOT_CA_SHA256);
      const problems = [
        root ? undefined : 'the TCB signing chain does not contain the pinned Intel SGX Root CA',
        root && leaf !== root ? issuedByProblem(leaf, root, 'TCB signing certificate', 'Intel SGX Root CA') : undefined,
        validityProblem(leaf, now, 'TCB signing certificate'),
      ].filter((x): x is string => typeof x === 'string');
      checks.add(
        'tcb_signing_chain',
        problems.length === 0,
        problems.length ? problems.join('; ') : 'TCB signing certificate ← pinned Intel SGX Root CA',
      );
      return leaf;
    });
    const tcbInfo = checks.attempt('tcb_info', () =>
      parseSignedCollateral<TdxTcbInfo>(col.tcbInfo, 'tcbInfo', 'tcbInfo'),
    );
    const qeId = checks.attempt('qe_identity', () =>
      parseSignedCollateral<QeIdentity>(col.qeIdentity, 'enclaveIdentity', 'QE identity'),
    );
    if (tcbInfo && signer) {
      const ok = collateralSignatureOk(tcbInfo, signer);
      checks.add(
        'tcb_info_signature',
        ok,
        ok ? 'tcbInfo signed by Intel SGX TCB Signing' : 'the tcbInfo signature does not verify',
      );
    }
    if (qeId && signer) {
      const ok = collateralSignatureOk(qeId, signer);
      checks.add(
        'qe_identity_signature',
        ok,
        ok ? 'QE identity signed by Intel SGX TCB Signing' : 'the QE identity signature does not verify',
      );
    }
    if (tcbInfo) {
      const ti = tcbInfo.value;
      const problems: string[] = [];
      const dp = collateralDateProblem(ti, now, 'tcbInfo');
      if (dp) problems.push(dp);
      if (ti.id !== 'TDX') problems.push(`tcbInfo id "${ti.id}" is not "TDX"`);
      if (pckExt && String(ti.fmspc).toLowerCase() !== hex(pckExt.fmspc))
        problems.push(`tcbInfo FMSPC ${ti.fmspc} != PCK FMSPC ${hex(pckExt.fmspc)}`);
      if (pckExt && String(ti.pceId).toLowerCase() !== hex(pckExt.pceId))
        problems.push(`tcbInfo pceId ${ti.pceId} != PCK PCE-ID ${hex(pckExt.pceId)}`);
      if (!Array.isArray(ti.tcbLevels)) problems.push('tcbInfo has no tcbLevels');
      checks.add(
        'tcb_info',
        problems.length === 0,
        problems.length ? problems.join('; ') : `tcbInfo for FMSPC ${ti.fmspc}, valid until ${ti.nextUpdate}`,
      );
      if (pckExt && Array.isArray(ti.tcbLevels)) {
        const ev = checks.attempt('tcb_status', () =>
          evaluateTdxTcb(ti, pckExt!, q.body.teeTcbSvn, q.body.mrSignerSeam, q.body.seamAttributes),
        );
        if (ev) {
          claims.tcb_status = ev.status ?? null;
          if (ev.tcbDate) claims.tcb_date = ev.tcbDate;
          if (ev.advisoryIds.length) claims.advisory_ids = ev.advisoryIds;
          if (ev.moduleId) {
            claims.tdx_module_id = ev.moduleId;
            claims.tdx_module_tcb_status = ev.moduleStatus ?? null;
          }
          const accepted = opts.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
          const problems2 = [...ev.problems];
          if (ev.status && !accepted.includes(ev.status))
            problems2.push(`platform TCB status ${ev.status} is not accepted`);
          if (ev.moduleStatus && !accepted.includes(ev.moduleStatus))
            problems2.push(`TDX module ${ev.moduleId} TCB status ${ev.moduleStatus} is not accepted`);
          checks.add(
            'tcb_status',
            problems2.length === 0,
            problems2.length
              ? problems2.join('; ')
              : `platform TCB ${ev.status}${ev.moduleStatus ? `, module ${ev.moduleId} ${ev.moduleStatus}` : ''}`,
          );
        }
      }
    }
    if (qeId) {
      const qi = qeId.value;
      const dp = collateralDateProblem(qi, now, 'QE identity');
      const ev = checks.attempt('qe_tcb_status', () => evaluateQeIdentity(qi, q.qeReport));
      if (ev) {
        claims.qe_tcb_status = ev.status ?? null;
        const accepted = opts.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
        const problems = [
          ...(dp ? [dp] : []),
          ...(qi.id === 'TD_QE' ? [] : [`QE identity id "${qi.id}" is not "TD_QE"`]),
          ...ev.problems,
        ];
        if (ev.status && !accepted.includes(ev.status)) problems.push(`QE TCB status ${ev.status} is not accepted`);
        checks.add(
          'qe_tcb_status',
          problems.length === 0,
          problems.length ? problems.join('; ') : `QE TCB ${ev.status}`,
        );
      }
    }
  }

  // 5. Policy and bindings.
  const debug = (q.body.tdAttributes[0]! & 1) !== 0;
  const allowDebug = opts.allowDebug ?? false;
  checks.add(
    'debug',
    allowDebug || !debug,
    debug
      ? allowDebug
        ? 'debug TD (accepted by option)'
        : 'td_attributes.debug is set; debug TDs are refused'
      : 'not a debug TD',
  );
  if (opts.expectedMrTd !== undefined) {
    const ok = anyEqual(q.body.mrTd, opts.expectedMrTd);
    checks.add('mr_td', ok, ok ? 'mr_td is allowed' : `mr_td ${hex(q.body.mrTd)} is not allowed`);
  }
  opts.expectedRtmrs?.forEach((want, i) => {
    if (!want || i > 3) return;
    const ok = Buffer.from(want).equals(q.body.rtmrs[i]!);
    checks.add(
      `rtmr_${i}`,
      ok,
      ok ? `rtmr_${i} matches` : `rtmr_${i} ${shortHex(q.body.rtmrs[i]!)} != expected ${shortHex(want)}`,
    );
  });
  if (opts.expectedMrConfigId !== undefined) {
    const want = regularize(opts.expectedMrConfigId, 48);
    const ok = want.equals(q.body.mrConfigId);
    checks.add(
      'mr_config_id',
      ok,
      ok
        ? 'mr_config_id equals the initdata digest'
        : `MRCONFIGID is different: ${shortHex(q.body.mrConfigId)} != expected ${shortHex(want)}`,
    );
  }
  if (opts.expectedReportData !== undefined) {
    const want = regularize(opts.expectedReportData, 64);
    const ok = want.equals(q.body.reportData);
    checks.add(
      'report_data',
      ok,
      ok
        ? 'report_data matches'
        : `Report Data Mismatch: quote has ${shortHex(q.body.reportData)}, expected ${shortHex(want)}`,
    );
  }
  if (opts.expectedClaims) {
    const { mismatches, skipped } = compareClaims(claims, opts.expectedClaims);
    const note = skipped.length ? ` (not compared, needs the CC event log: ${skipped.join(', ')})` : '';
    checks.add(
      'expected_claims',
      mismatches.length === 0,
      mismatches.length ? mismatches.join('; ') : `claims match the expected claims${note}`,
    );
  }
  return checks.result('tdx', claims);
}

/**
 * How the KBS verifies the primary TEE evidence. A verifier checks the evidence, that its report data equals the
 * RCAR runtime-data digest, and (when init-data was sent) that the evidence binds the initdata digest; it returns the
 * TEE claims for the attestation policy.
 *
 * The verifiers come from the `attestation/verifier` library; the `sample` TEE is software only and INSECURE.
 */
import {
  fetchFromKds,
  fetchTdxCollateralFromPcs,
  verifyEvidence,
  verifySample,
  type EvidenceVerifyOptions,
  type Tee,
  type TdxCollateral,
  type VerificationResult,
} from '../verifier/index.js';

export interface VerifyEvidenceRequest {
  tee: string;
  evidence: unknown;
  /** The runtime-data digest (not yet fitted to the report-data field). */
  expectedReportData: Buffer;
  /** The initdata digest, when `init-data` was sent; the evidence must bind it. */
  initdataDigest?: Buffer;
  now: number;
}

export interface VerifiedEvidence {
  /** TEE claims (hex strings for byte fields) for the policy and the token. */
  claims: Record<string, unknown>;
  /** The report data as carried in the evidence. */
  reportData: Buffer;
  /** The initdata binding as carried in the evidence (host_data, mr_config_id, sample init_data). */
  initData?: Buffer;
  /** True for software-only evidence (the sample TEE). */
  insecure?: boolean;
}

export type EvidenceVerifier = (req: VerifyEvidenceRequest) => Promise<VerifiedEvidence>;

export class EvidenceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvidenceError';
  }
}

function failedChecks(r: VerificationResult): string {
  const bad = r.checks.filter((c) => !c.ok);
  if (bad.length === 0) return 'no verification check ran';
  return bad.map((c) => `${c.name}: ${c.reason ?? 'failed'}`).join('; ');
}

function hexClaim(claims: Record<string, unknown>, k: string): Buffer | undefined {
  const v = claims[k];
  return typeof v === 'string' && /^[0-9a-f]*$/i.test(v) ? Buffer.from(v, 'hex') : undefined;
}

/**
 * Hardware-verifier settings from the KBS config: where AMD certificates and Intel collateral come from. Without
 * any, SNP evidence must embed its VCEK and ASK/ARK, and TDX evidence fails (no TCB status), both fail closed.
 */
export type HardwareVerifierOptions = Pick<
  EvidenceVerifyOptions,
  'amdCertChain' | 'fetchVcek' | 'fetchAmdCertChain' | 'collateral' | 'fetchCollateral'
>;

/** Memoise a fetcher by key (KDS rate-limits; PCS collateral changes rarely). Failures are not cached. */
export function cachedFetcher<T>(
  fetcher: (key: string) => Promise<T>,
  ttlMs = 6 * 3600_000,
  now: () => number = Date.now,
): (key: string) => Promise<T> {
  const cache = new Map<string, { at: number; value: Promise<T> }>();
  return (key) => {
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = fetcher(key);
    cache.set(key, { at: now(), value });
    value.catch(() => cache.delete(key));
    return value;
  };
}

/** Network fetchers: AMD KDS for VCEKs and the ASK/ARK chain, Intel PCS for TDX collateral (cached). */
export function onlineHardwareVerifierOptions(
  opts: { kds?: boolean; pcs?: boolean; pcsBase?: string } = {},
): HardwareVerifierOptions {
  const o: HardwareVerifierOptions = {};
  if (opts.kds) {
    o.fetchVcek = cachedFetcher(fetchFromKds);
    o.fetchAmdCertChain = cachedFetcher(fetchFromKds);
  }
  if (opts.pcs)
    o.fetchCollateral = cachedFetcher((fmspc): Promise<TdxCollateral> =>
      fetchTdxCollateralFromPcs(fmspc, opts.pcsBase),
    );
  return o;
}

/** Adapt the `attestation/verifier` library (SNP, TDX, NVIDIA, sample) to the KBS verifier interface. */
export function libraryVerifier(tee: Tee | 'sampledevice', hw: HardwareVerifierOptions = {}): EvidenceVerifier {
  return async (req) => {
    const common = { ...hw, expectedReportData: req.expectedReportData, now: new Date(req.now) };
    const r =
      tee === 'sampledevice'
        ? await verifySample(req.evidence, {
            expectedReportData: req.expectedReportData,
            now: common.now,
            kind: 'sampledevice',
          })
        : await verifyEvidence(tee, req.evidence, {
            ...common,
            ...(req.initdataDigest ? { expectedInitDataDigest: req.initdataDigest } : {}),
          });
    if (!r.ok) throw new EvidenceError(failedChecks(r));
    const reportData = hexClaim(r.claims, 'report_data') ?? req.expectedReportData;
    const initData = hexClaim(r.claims, 'init_data');
    return {
      claims: r.claims,
      reportData,
      ...(initData ? { initData } : {}),
      ...(tee === 'sample' || tee === 'sampledevice' ? { insecure: true } : {}),
    };
  };
}

/** INSECURE sample TEE (software only): evidence `{"svn","report_data","init_data"?}` compared byte for byte. */
export const sampleVerifier: EvidenceVerifier = libraryVerifier('sample');

export type EvidenceVerifiers = Partial<Record<string, EvidenceVerifier>>;

/** Every TEE the verifier library supports: snp, tdx (primary), nvidia, sampledevice (additional), sample (INSECURE). */
export function builtinVerifiers(hw: HardwareVerifierOptions = {}): EvidenceVerifiers {
  return {
    snp: libraryVerifier('snp', hw),
    tdx: libraryVerifier('tdx', hw),
    sample: sampleVerifier,
    nvidia: libraryVerifier('nvidia'),
    sampledevice: libraryVerifier('sampledevice'),
  };
}

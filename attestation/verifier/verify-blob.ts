/**
 * Verify evidence given as file contents (what `ccgpu attest verify` reads): works out the evidence form per TEE
 * (raw SNP report or Trustee JSON; raw/base64 TDX quote or JSON; NVIDIA hex/base64 report or JSON) and maps the
 * side inputs (VEK / chains / collateral directory / expected nonce) onto the verifier options.
 */
import { CheckList } from './check-list.js';
import { SNP_REPORT_SIZE } from '../evidence/snp-report.js';
import type { SnpGeneration } from '../evidence/snp-report.js';
import { verifyNvidiaDevice } from './nvidia/verify-nvidia.js';
import { verifySnp } from './snp/verify-snp.js';
import { loadTdxCollateralDir } from './tdx/collateral-dir.js';
import { verifyTdx, type TdxCollateral } from './tdx/verify-tdx.js';
import type { Tee, VerificationResult } from './types.js';
import { verifyEvidence, type EvidenceVerifyOptions } from './verify-evidence.js';

export interface EvidenceBlobInputs {
  tee: Tee;
  evidence: Uint8Array;
  /** SNP: the VCEK/VLEK (DER or PEM). NVIDIA: the GPU certificate chain when `chain` is not given. */
  cert?: Uint8Array;
  /** SNP: the AMD ASK/ARK(/ASVK) bundle. NVIDIA: the GPU certificate chain (PEM). */
  chain?: Uint8Array;
  /** TDX: a directory with the tcbInfo, QE identity and TCB signing chain (see loadTdxCollateralDir). */
  collateralDir?: string;
  /** The expected nonce / report data (regularized to each TEE's field). `reportData` wins over `nonce`. */
  nonce?: Uint8Array;
  reportData?: Uint8Array;
  expectedInitDataDigest?: Uint8Array;
  now?: Date;
  allowDebug?: boolean;
  minReportVersion?: number;
  generation?: SnpGeneration;
}

function looksLikeJson(b: Uint8Array): boolean {
  const s = Buffer.from(b.subarray(0, 64)).toString('latin1').trimStart();
  return s.startsWith('{');
}

function textOrBinary(b: Uint8Array): Buffer {
  const s = Buffer.from(b).toString('latin1').trim();
  if (/^[A-Za-z0-9+/\r\n]+={0,2}$/.test(s) && s.length % 4 === 0) return Buffer.from(s.replace(/\s/g, ''), 'base64');
  return Buffer.from(b);
}

export async function verifyEvidenceBlob(inp: EvidenceBlobInputs): Promise<VerificationResult> {
  const opts: EvidenceVerifyOptions = {};
  if (inp.now) opts.now = inp.now;
  const expected = inp.reportData ?? inp.nonce;
  if (expected) opts.expectedReportData = expected;
  if (inp.expectedInitDataDigest) opts.expectedInitDataDigest = inp.expectedInitDataDigest;
  if (inp.allowDebug !== undefined) opts.allowDebug = inp.allowDebug;
  if (inp.minReportVersion !== undefined) opts.minReportVersion = inp.minReportVersion;
  if (inp.generation) opts.generation = inp.generation;
  switch (inp.tee) {
    case 'snp': {
      if (inp.cert) opts.vek = inp.cert;
      if (inp.chain) opts.amdCertChain = inp.chain;
      if (!looksLikeJson(inp.evidence) && inp.evidence.length === SNP_REPORT_SIZE) {
        return verifySnp(
          { report: inp.evidence },
          { ...opts, ...(inp.expectedInitDataDigest ? { expectedHostData: inp.expectedInitDataDigest } : {}) },
        );
      }
      return verifyEvidence('snp', inp.evidence, opts);
    }
    case 'tdx': {
      if (inp.collateralDir) {
        let collateral: TdxCollateral;
        try {
          collateral = loadTdxCollateralDir(inp.collateralDir);
        } catch (e) {
          const c = new CheckList();
          c.fail('collateral', (e as Error).message);
          return c.result('tdx', {});
        }
        opts.collateral = collateral;
      }
      if (looksLikeJson(inp.evidence)) return verifyEvidence('tdx', inp.evidence, opts);
      return verifyTdx(textOrBinary(inp.evidence), {
        ...opts,
        ...(inp.expectedInitDataDigest ? { expectedMrConfigId: inp.expectedInitDataDigest } : {}),
      });
    }
    case 'nvidia': {
      if (looksLikeJson(inp.evidence)) return verifyEvidence('nvidia', inp.evidence, opts);
      const certs = inp.chain ?? inp.cert;
      if (!certs) {
        const c = new CheckList();
        c.fail('cert_chain', 'NVIDIA evidence needs the GPU certificate chain (--chain FILE)');
        return c.result('nvidia', {});
      }
      return verifyNvidiaDevice({ evidence: Buffer.from(inp.evidence).toString('latin1'), certificate: certs }, opts);
    }
    default:
      return verifyEvidence(inp.tee, inp.evidence, opts);
  }
}

/**
 * One entry point for the Trustee JSON evidence forms, as the KBS receives them in `tee-evidence.primary_evidence`
 * (or as JSON text):
 * - snp: `{"attestation_report": {…} | "<base64 raw>", "cert_chain": [...] | null}`
 * - tdx: `{"quote": "<base64>", "cc_eventlog": "<base64>" | null}`
 * - nvidia: `{"device_evidence_list": [{arch, uuid, evidence, certificate}]}` (or one device object)
 * - sample: `{"svn": "1", "report_data": "<base64>"}`
 */
import { parseSnpEvidenceJson } from '../evidence/snp-evidence.js';
import { CheckList } from './check-list.js';
import {
  verifyNvidia,
  type NvidiaDeviceEvidence,
  type NvidiaEvidence,
  type NvidiaVerifyOptions,
} from './nvidia/verify-nvidia.js';
import { verifySample } from './sample.js';
import { verifySnp, type SnpVerifyOptions } from './snp/verify-snp.js';
import { verifyTdx, type TdxVerifyOptions } from './tdx/verify-tdx.js';
import type { Tee, VerificationResult } from './types.js';

export interface EvidenceVerifyOptions
  extends SnpVerifyOptions, Omit<TdxVerifyOptions, 'allowDebug'>, NvidiaVerifyOptions {
  /** The initdata digest: compared with SNP host_data (fitted to 32), TDX mr_config_id (fitted to 48), sample init_data. */
  expectedInitDataDigest?: Uint8Array;
}

function asObject(evidence: unknown): Record<string, unknown> {
  let v = evidence;
  if (typeof v === 'string' || v instanceof Uint8Array) {
    try {
      v = JSON.parse(Buffer.from(v as string | Uint8Array).toString('utf8'));
    } catch (e) {
      throw new Error(`evidence is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('evidence must be a JSON object');
  return v as Record<string, unknown>;
}

function failed(tee: Tee, name: string, reason: string): VerificationResult {
  const c = new CheckList();
  c.fail(name, reason);
  return c.result(tee, {});
}

/** Verify Trustee-form evidence of the given TEE. Never throws; bad input is a failed `parse` check. */
export async function verifyEvidence(
  tee: Tee,
  evidence: unknown,
  opts: EvidenceVerifyOptions = {},
): Promise<VerificationResult> {
  let obj: Record<string, unknown>;
  try {
    obj = asObject(evidence);
  } catch (e) {
    return failed(tee, 'parse', (e as Error).message);
  }
  switch (tee) {
    case 'snp': {
      let parsed;
      try {
        parsed = parseSnpEvidenceJson(obj);
      } catch (e) {
        return failed('snp', 'parse', (e as Error).message);
      }
      const o: SnpVerifyOptions = { ...opts };
      if (opts.expectedInitDataDigest) o.expectedHostData = opts.expectedInitDataDigest;
      return verifySnp(parsed, o);
    }
    case 'tdx': {
      const q = obj.quote;
      if (typeof q !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(q))
        return failed('tdx', 'parse', 'tdx evidence: "quote" must be a base64 string');
      const o: TdxVerifyOptions = { ...opts };
      if (opts.expectedInitDataDigest) o.expectedMrConfigId = opts.expectedInitDataDigest;
      const r = await verifyTdx(Buffer.from(q, 'base64'), o);
      if (typeof obj.cc_eventlog === 'string' && obj.cc_eventlog) r.claims.cc_eventlog_present = true;
      return r;
    }
    case 'nvidia':
      if (!('device_evidence_list' in obj) && !('evidence' in obj))
        return failed('nvidia', 'parse', 'nvidia evidence needs "device_evidence_list" or "evidence"');
      return verifyNvidia(obj as unknown as NvidiaEvidence | NvidiaDeviceEvidence, opts);
    case 'sample':
      return verifySample(obj, {
        ...opts,
        ...(opts.expectedInitDataDigest ? { expectedInitData: opts.expectedInitDataDigest } : {}),
      });
    default:
      return failed(tee, 'tee', `unsupported TEE "${String(tee)}" (expected snp, tdx, nvidia or sample)`);
  }
}

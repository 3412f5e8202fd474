/**
 * Composite evidence (reference §1.10): the CPU (primary) evidence plus `additional_evidence`, a JSON *string* of
 * `{"nvidia": {"device_evidence_list": [...]}, "sampledevice": {...}}`. Each device is verified against the device
 * digest of {nonce, tee-pubkey}; the primary against the digest that also covers the additional-evidence string.
 * Any unknown device kind, unparsable string, or failed piece fails the whole (fail closed).
 */
import { CheckList } from './check-list.js';
import { verifyNvidiaDevices, type NvidiaEvidence } from './nvidia/verify-nvidia.js';
import { runtimeDataDigests, type BindingHash } from './runtime-data-binding.js';
import { verifySample } from './sample.js';
import type { Check, Tee, VerificationResult } from './types.js';
import { verifyEvidence, type EvidenceVerifyOptions } from './verify-evidence.js';

export interface CompositeEvidence {
  /** The primary TEE (snp, tdx, or sample). */
  tee: Tee;
  primaryEvidence: unknown;
  /** The `additional_evidence` string exactly as received ("" when there are no devices). */
  additionalEvidence: string;
}

export interface CompositeBinding {
  /** `runtime-data.nonce`, unchanged. */
  nonce: string;
  /** `runtime-data.tee-pubkey` (the JWK object). */
  teePubkey: unknown;
  hash?: BindingHash;
}

export interface DeviceResult {
  /** The additional-evidence key (`nvidia`, `sampledevice`). */
  kind: string;
  /** Submod name: gpu0, gpu1, … */
  submod: string;
  result: VerificationResult;
}

export interface CompositeVerificationResult {
  ok: boolean;
  primary: VerificationResult;
  devices: DeviceResult[];
  /** Checks about the composite itself (parsing the additional evidence). */
  checks: Check[];
}

const DEVICE_KINDS = ['nvidia', 'sampledevice'];

export async function verifyComposite(
  evidence: CompositeEvidence,
  binding: CompositeBinding,
  opts: Omit<EvidenceVerifyOptions, 'expectedReportData'> = {},
): Promise<CompositeVerificationResult> {
  const checks = new CheckList(opts.logger);
  const digests = runtimeDataDigests(
    binding.nonce,
    binding.teePubkey,
    evidence.additionalEvidence,
    binding.hash ?? 'sha384',
  );
  const primary = await verifyEvidence(evidence.tee, evidence.primaryEvidence, {
    ...opts,
    expectedReportData: digests.primary,
  });
  if (evidence.tee === 'nvidia') checks.fail('primary_tee', 'a GPU cannot be the primary TEE');

  const devices: DeviceResult[] = [];
  if (evidence.additionalEvidence === '') {
    checks.pass('additional_evidence', 'no additional evidence');
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(evidence.additionalEvidence);
    } catch (e) {
      parsed = undefined;
      checks.fail('additional_evidence', `additional_evidence is not valid JSON: ${(e as Error).message}`);
    }
    if (parsed !== undefined) {
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        checks.fail('additional_evidence', 'additional_evidence must be a JSON object keyed by device TEE name');
      } else {
        const entries = Object.entries(parsed as Record<string, unknown>);
        const unknown = entries.filter(([k]) => !DEVICE_KINDS.includes(k)).map(([k]) => k);
        if (unknown.length)
          checks.fail('additional_evidence', `unsupported additional evidence kind(s): ${unknown.join(', ')}`);
        else checks.pass('additional_evidence', `devices: ${entries.map(([k]) => k).join(', ') || 'none'}`);
        let gpu = 0;
        for (const [kind, value] of entries) {
          if (kind === 'nvidia') {
            const list = (value as Partial<NvidiaEvidence> | null)?.device_evidence_list;
            if (!Array.isArray(list) || list.length === 0) {
              checks.fail('additional_evidence', 'nvidia additional evidence has no device_evidence_list');
              continue;
            }
            const results = await verifyNvidiaDevices(
              { device_evidence_list: list },
              { ...opts, expectedReportData: digests.device },
            );
            for (const result of results) devices.push({ kind, submod: `gpu${gpu++}`, result });
          } else if (kind === 'sampledevice') {
            const result = await verifySample(value, {
              ...opts,
              expectedReportData: digests.device,
              kind: 'sampledevice',
            });
            devices.push({ kind, submod: `gpu${gpu++}`, result });
          }
        }
      }
    }
  }
  const ok = checks.ok && primary.ok && devices.every((d) => d.result.ok);
  return { ok, primary, devices, checks: checks.checks };
}

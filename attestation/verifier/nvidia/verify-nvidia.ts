/**
 * NVIDIA Hopper GPU evidence (local verification, as trustee's local NVIDIA verifier): SPDM report signature by the
 * attestation leaf (ECDSA P-384), the 5-certificate chain to the pinned NVIDIA Device Identity CA, the FWID in the
 * leaf's DICE extension against the report's opaque FWID, and the request nonce against the expected report data.
 */
import { createPublicKey, verify as cryptoVerify, type X509Certificate } from 'node:crypto';
import { hex } from '../../evidence/byte-reader.js';
import { MalformedEvidenceError } from '../../evidence/errors.js';
import { OPAQUE_FWID, opaqueClaims, parseSpdmReport, type SpdmReport } from '../../evidence/nvidia-spdm.js';
import { issuedByProblem, loadCertificates, normalizeFingerprint, validityProblem } from '../certificates.js';
import { CheckList, guarded } from '../check-list.js';
import { regularize, shortHex } from '../report-data.js';
import type { CommonVerifyOptions, VerificationResult } from '../types.js';
import { certFwids, DICE_TCB_INFO_OID } from './fwid.js';

/** SHA-256 of the NVIDIA Device Identity CA (SHA-1 72:BE:15:B8:…:13:54:E8). */
export const NVIDIA_DEVICE_ROOT_SHA256 = '102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48';
export const HOPPER_CHAIN_LENGTH = 5;

/** One device's evidence as guest-components sends it (`device_evidence_list` entry). */
export interface NvidiaDeviceEvidence {
  arch?: string;
  uuid?: string;
  /** The SPDM report, hex or base64 (or raw bytes). */
  evidence: string | Uint8Array;
  /** The certificate chain, base64 of the PEM text, PEM text, or bytes. */
  certificate: string | Uint8Array;
}

export interface NvidiaEvidence {
  device_evidence_list: NvidiaDeviceEvidence[];
}

export type NvidiaVerifyOptions = CommonVerifyOptions;

const KIND = 'nvidia evidence';

function decodeReport(v: string | Uint8Array): Buffer {
  if (typeof v !== 'string') return Buffer.from(v);
  const s = v.trim();
  if (s.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return Buffer.from(s, 'base64');
  throw new MalformedEvidenceError(KIND, 'is neither hex nor base64', 'evidence');
}

function decodeChain(v: string | Uint8Array): X509Certificate[] {
  let text = typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
  if (!text.includes('-----BEGIN')) {
    const t = text.trim();
    if (!/^[A-Za-z0-9+/\s]+={0,2}$/.test(t))
      throw new MalformedEvidenceError(KIND, 'is neither PEM nor base64 of PEM', 'certificate');
    text = Buffer.from(t, 'base64').toString('latin1');
  }
  return loadCertificates(text, 'GPU certificate chain');
}

function normalizeArch(arch: string | undefined): string | undefined {
  if (arch === undefined) return 'Hopper';
  const a = arch.toLowerCase();
  if (a === 'hopper') return 'Hopper';
  return undefined;
}

/** Verify one GPU's evidence. Never throws. */
export async function verifyNvidiaDevice(
  dev: NvidiaDeviceEvidence,
  opts: NvidiaVerifyOptions = {},
): Promise<VerificationResult> {
  const now = opts.now ?? new Date();
  const checks = new CheckList(opts.logger);
  const arch = normalizeArch(dev.arch);
  if (!arch) {
    checks.fail('arch', `GPU architecture "${dev.arch}" is not supported (Hopper only)`);
    return checks.result('nvidia', {});
  }
  const report = checks.attempt('parse', () => parseSpdmReport(decodeReport(dev.evidence)));
  if (!report) return checks.result('nvidia', {});
  return guarded(
    'nvidia',
    checks,
    () => ({ arch }),
    () => verifyParsedNvidia(report, arch, dev, checks, now, opts),
  );
}

async function verifyParsedNvidia(
  report: SpdmReport,
  arch: string,
  dev: NvidiaDeviceEvidence,
  checks: CheckList,
  now: Date,
  opts: NvidiaVerifyOptions,
): Promise<VerificationResult> {
  checks.pass(
    'parse',
    `SPDM 0x${report.request.version.toString(16)} report, ${report.blocks.length} measurement blocks`,
  );

  const config = opaqueClaims(report.opaque);
  const measurements: Record<string, string> = {};
  for (const b of report.blocks) measurements[String(b.index)] = hex(b.value);
  const claims: Record<string, unknown> = { arch, config, measurements };
  if (dev.uuid !== undefined) claims.uuid = dev.uuid;

  const chain = checks.attempt('cert_chain', () => decodeChain(dev.certificate));
  let leaf: X509Certificate | undefined;
  if (chain) {
    if (chain.length < 2) {
      checks.fail(
        'cert_chain',
        `certificate chain too short: ${chain.length} certificate(s), expected ${HOPPER_CHAIN_LENGTH} (leaf ← GSP BROM ← provisioner ICA ← GH100 identity ← NVIDIA Device Identity CA)`,
      );
    } else {
      leaf = chain[0];
      const root = chain[chain.length - 1]!;
      const fp = normalizeFingerprint(root.fingerprint256);
      const problems: string[] = [];
      if (chain.length !== HOPPER_CHAIN_LENGTH)
        problems.push(`${chain.length} certificates, expected ${HOPPER_CHAIN_LENGTH}`);
      if (fp !== NVIDIA_DEVICE_ROOT_SHA256)
        problems.push(`root fingerprint ${fp} is not the pinned NVIDIA Device Identity CA`);
      const self = issuedByProblem(root, root, 'root', 'root');
      if (self) problems.push(self);
      for (let i = 0; i < chain.length - 1; i++) {
        const p = issuedByProblem(chain[i]!, chain[i + 1]!, `certificate ${i}`, `certificate ${i + 1}`);
        if (p) problems.push(p);
      }
      chain.forEach((c, i) => {
        const p = validityProblem(c, now, `certificate ${i}`);
        if (p) problems.push(p);
      });
      checks.add(
        'cert_chain',
        problems.length === 0,
        problems.length
          ? `certificate chain failed to verify: ${problems.join('; ')}`
          : `${chain.length}-certificate chain to the pinned NVIDIA Device Identity CA`,
      );
    }
  }

  if (leaf) {
    let ok = false;
    let why = 'the SPDM report signature does not verify with the attestation certificate';
    try {
      const key = createPublicKey(leaf.publicKey.export({ format: 'pem', type: 'spki' }));
      if (key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') why = 'the attestation certificate key is not EC P-384';
      else ok = cryptoVerify('sha384', report.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, report.signature);
    } catch (e) {
      why = `signature check error: ${(e as Error).message}`;
    }
    checks.add('signature', ok, ok ? 'ECDSA P-384 SPDM signature verifies with the attestation certificate' : why);

    const fwids = checks.attempt('fwid', () => certFwids(leaf!));
    const reported = report.opaque.find((f) => f.type === OPAQUE_FWID)?.value;
    if (fwids === undefined && !checks.checks.some((c) => c.name === 'fwid')) {
      checks.fail('fwid', `FwId oid not found: the attestation certificate has no ${DICE_TCB_INFO_OID} extension`);
    } else if (fwids) {
      if (!reported) checks.fail('fwid', 'the report has no FWID opaque field (type 20)');
      else {
        const ok2 = fwids.some(
          (f) => f.length >= reported.length && f.subarray(f.length - reported.length).equals(reported),
        );
        checks.add(
          'fwid',
          ok2,
          ok2
            ? 'report FWID equals the certificate FWID'
            : `report FWID ${shortHex(reported)} is not among the certificate's FWIDs`,
        );
      }
    }
  }

  if (opts.expectedReportData !== undefined) {
    const want = regularize(opts.expectedReportData, 32);
    const ok = want.equals(report.request.nonce);
    checks.add(
      'nonce',
      ok,
      ok
        ? 'SPDM request nonce equals the expected report data'
        : `nonce mismatch: request nonce ${shortHex(report.request.nonce)}, expected ${shortHex(want)}`,
    );
  } else {
    checks.fail('nonce', 'no expected nonce given: GPU evidence without a nonce check could be replayed');
  }
  return checks.result('nvidia', claims);
}

/** Verify every device of `{device_evidence_list}`: one result per device, in order. */
export async function verifyNvidiaDevices(
  evidence: NvidiaEvidence,
  opts: NvidiaVerifyOptions = {},
): Promise<VerificationResult[]> {
  return Promise.all(evidence.device_evidence_list.map((d) => verifyNvidiaDevice(d, opts)));
}

/**
 * Verify NVIDIA evidence: one device, or a `device_evidence_list` (checks prefixed `gpuN.`, claims keyed `gpuN`).
 * An empty list fails.
 */
export async function verifyNvidia(
  evidence: NvidiaDeviceEvidence | NvidiaEvidence,
  opts: NvidiaVerifyOptions = {},
): Promise<VerificationResult> {
  if (!('device_evidence_list' in evidence)) return verifyNvidiaDevice(evidence, opts);
  const list = evidence.device_evidence_list;
  if (!Array.isArray(list) || list.length === 0) {
    return {
      ok: false,
      tee: 'nvidia',
      claims: {},
      checks: [{ name: 'devices', ok: false, reason: 'device_evidence_list is empty or not an array' }],
    };
  }
  const results = await verifyNvidiaDevices(evidence, opts);
  const claims: Record<string, unknown> = {};
  const all = results.flatMap((r, i) => {
    claims[`gpu${i}`] = r.claims;
    return r.checks.map((c) => ({ ...c, name: `gpu${i}.${c.name}` }));
  });
  return { ok: results.every((r) => r.ok), tee: 'nvidia', claims, checks: all };
}

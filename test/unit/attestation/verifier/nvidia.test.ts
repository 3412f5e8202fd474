import { describe, expect, it } from 'vitest';
import {
  parseSpdmReport,
  verifyEvidence,
  verifyNvidia,
  verifyNvidiaDevice,
  type Check,
  type NvidiaDeviceEvidence,
  type VerificationResult,
} from '../../../../attestation/verifier/index.js';
import { HOPPER_NONCE, vector, vectorText } from './vectors.js';

const reportHex = (): string => vectorText('nvidia/hopperAttestationReport.txt').trim();
const chain = (n: 1 | 2 | 3): string => vectorText(`nvidia/hopper_cert_chain_case${n}.txt`);
const expectedClaims = (): Record<string, unknown> =>
  JSON.parse(vectorText('nvidia/hopperAttestationReport-claims.txt')) as Record<string, unknown>;
const device = (over: Partial<NvidiaDeviceEvidence> = {}): NvidiaDeviceEvidence => ({
  arch: 'HOPPER',
  uuid: '1111-2222-33333-444444-555555',
  evidence: reportHex(),
  certificate: chain(1),
  ...over,
});

function check(r: VerificationResult, name: string): Check {
  const c = r.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check "${name}" in ${r.checks.map((x) => x.name).join(', ')}`);
  return c;
}

describe('NVIDIA Hopper SPDM evidence (hopperAttestationReport.txt)', () => {
  it('parses the SPDM layout: 64 blocks of 48 bytes, 422 bytes of opaque data', () => {
    const p = parseSpdmReport(Buffer.from(reportHex(), 'hex'));
    expect(p.raw).toHaveLength(4117);
    expect(p.blocks).toHaveLength(64);
    expect(p.blocks.every((b) => b.value.length === 48)).toBe(true);
    expect(p.request.nonce.equals(HOPPER_NONCE)).toBe(true);
    expect(p.signature).toHaveLength(96);
    expect(p.opaque.reduce((n, f) => n + 4 + f.value.length, 0)).toBe(422);
  });

  it('verifies signature, 5-certificate chain, FWID and nonce; claims equal the expected claims', async () => {
    const r = await verifyNvidiaDevice(device(), { expectedReportData: HOPPER_NONCE });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual(['parse', 'cert_chain', 'signature', 'fwid', 'nonce']);
    expect(r.claims).toEqual(expectedClaims());
    expect((r.claims.config as { fwid: string }).fwid).toMatch(/^f5c384ae[0-9a-f]{80}62b1f75d$/);
  });

  it('accepts base64 evidence, base64-of-PEM certificates, lower-case arch and a missing uuid', async () => {
    const r = await verifyNvidiaDevice(
      {
        arch: 'hopper',
        evidence: Buffer.from(reportHex(), 'hex').toString('base64'),
        certificate: Buffer.from(chain(1)).toString('base64'),
      },
      { expectedReportData: HOPPER_NONCE },
    );
    expect(r.ok).toBe(true);
    expect(r.claims.uuid).toBeUndefined();
  });

  it('fails a wrong nonce, and fails closed when no nonce is expected', async () => {
    const wrong = Buffer.from(HOPPER_NONCE);
    wrong[0]! ^= 1;
    const r = await verifyNvidiaDevice(device(), { expectedReportData: wrong });
    expect(r.ok).toBe(false);
    expect(check(r, 'nonce').reason).toMatch(/^nonce mismatch/);
    const none = await verifyNvidiaDevice(device());
    expect(check(none, 'nonce').ok).toBe(false);
  });

  it('takes the 48-byte device digest and compares its first 32 bytes', async () => {
    const digest = Buffer.concat([HOPPER_NONCE, Buffer.alloc(16, 0xee)]);
    const r = await verifyNvidiaDevice(device(), { expectedReportData: digest });
    expect(check(r, 'nonce').ok).toBe(true);
  });

  it('case2: the chain is too short', async () => {
    const r = await verifyNvidiaDevice(device({ certificate: chain(2) }), { expectedReportData: HOPPER_NONCE });
    expect(r.ok).toBe(false);
    expect(check(r, 'cert_chain').reason).toMatch(/chain too short/);
  });

  it('case3: the chain fails to verify', async () => {
    const r = await verifyNvidiaDevice(device({ certificate: chain(3) }), { expectedReportData: HOPPER_NONCE });
    expect(r.ok).toBe(false);
    expect(check(r, 'cert_chain').reason).toMatch(/^certificate chain failed to verify/);
  });

  it('fails the signature when one report byte is flipped', async () => {
    const b = Buffer.from(reportHex(), 'hex');
    b[100]! ^= 0x40; // inside a measurement block
    const r = await verifyNvidiaDevice(device({ evidence: b.toString('hex') }), { expectedReportData: HOPPER_NONCE });
    expect(check(r, 'signature').ok).toBe(false);
    expect(check(r, 'cert_chain').ok).toBe(true);
  });

  it('fails the FWID check when the leaf is not the attestation certificate', async () => {
    const pems = chain(1).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    const r = await verifyNvidiaDevice(device({ certificate: pems.slice(1).join('\n') }), {
      expectedReportData: HOPPER_NONCE,
    });
    expect(r.ok).toBe(false);
    expect(check(r, 'fwid').ok).toBe(false);
    expect(check(r, 'fwid').reason).toMatch(/FwId oid not found|not among/);
    expect(check(r, 'signature').ok).toBe(false);
  });

  it('refuses unsupported architectures and malformed blobs', async () => {
    const bw = await verifyNvidiaDevice(device({ arch: 'BLACKWELL' }), { expectedReportData: HOPPER_NONCE });
    expect(bw.checks[0]).toMatchObject({ name: 'arch', ok: false });
    const trunc = await verifyNvidiaDevice(device({ evidence: reportHex().slice(0, 4000) }), {
      expectedReportData: HOPPER_NONCE,
    });
    expect(trunc.checks[0]).toMatchObject({ name: 'parse', ok: false });
    const junk = await verifyNvidiaDevice(device({ evidence: 'zz not hex' }), { expectedReportData: HOPPER_NONCE });
    expect(junk.checks[0]!.reason).toContain('neither hex nor base64');
  });

  it('verifies a device_evidence_list (gpu0, gpu1) through verifyNvidia and verifyEvidence', async () => {
    const r = await verifyNvidia(
      { device_evidence_list: [device(), device({ certificate: chain(2) })] },
      { expectedReportData: HOPPER_NONCE },
    );
    expect(r.ok).toBe(false);
    expect(check(r, 'gpu0.signature').ok).toBe(true);
    expect(check(r, 'gpu1.cert_chain').ok).toBe(false);
    expect(Object.keys(r.claims)).toEqual(['gpu0', 'gpu1']);
    const one = await verifyEvidence('nvidia', JSON.stringify({ device_evidence_list: [device()] }), {
      expectedReportData: HOPPER_NONCE,
    });
    expect(one.ok).toBe(true);
    const empty = await verifyEvidence('nvidia', { device_evidence_list: [] }, { expectedReportData: HOPPER_NONCE });
    expect(empty.ok).toBe(false);
  });

  it('pins the NVIDIA device root (nvidia_device_root.pem is the chain root)', async () => {
    const root = vectorText('nvidia/nvidia_device_root.pem').trim();
    expect(chain(1)).toContain(root.split('\n')[1]!);
    const pems = chain(1).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    // Replace the root by a different self-signed certificate (the leaf of another vendor): pinning must fail.
    const other = vector('snp/milan_ask_ark_asvk.pem')
      .toString()
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)![1]!;
    const r = await verifyNvidiaDevice(device({ certificate: [...pems.slice(0, 4), other].join('\n') }), {
      expectedReportData: HOPPER_NONCE,
    });
    expect(check(r, 'cert_chain').reason).toContain('is not the pinned NVIDIA Device Identity CA');
  });
});

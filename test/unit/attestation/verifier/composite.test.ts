import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { canonicalize, runtimeDataDigests, verifyComposite } from '../../../../attestation/verifier/index.js';
import { HOPPER_NONCE, vectorText } from './vectors.js';

const NONCE = 'bm9uY2U=';
const PUBKEY = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'AAAA', y: 'BBBB' };

function sampleEvidence(digest: Buffer): Record<string, string> {
  return { svn: '1', report_data: digest.toString('base64') };
}

describe('runtime-data binding (reference §1.5)', () => {
  it('canonical JSON + SHA-384 matches the trustee AS unit-test vector', () => {
    const s = canonicalize({ b: 1, a: 'test', c: { d: 'e' } });
    expect(s).toBe('{"a":"test","b":1,"c":{"d":"e"}}');
    expect(createHash('sha384').update(s).digest('hex')).toBe(
      'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
    );
  });

  it('builds the primary object exactly as the reference example', () => {
    const primary = canonicalize({ 'additional-evidence': '', nonce: NONCE, 'tee-pubkey': PUBKEY });
    expect(primary).toBe(
      '{"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}}',
    );
    const d = runtimeDataDigests(NONCE, PUBKEY, '');
    expect(d.primary.equals(createHash('sha384').update(primary).digest())).toBe(true);
    expect(d.primary.toString('hex').startsWith('d20490d3')).toBe(true);
    expect(d.primary.toString('hex').endsWith('b12e4b43')).toBe(true);
    expect(
      d.device.equals(
        createHash('sha384')
          .update(
            '{"nonce":"bm9uY2U=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}}',
          )
          .digest(),
      ),
    ).toBe(true);
  });
});

describe('composite evidence (CPU + additional devices, reference §1.10)', () => {
  it('verifies a primary and a device each bound to its own digest', async () => {
    const device = runtimeDataDigests(NONCE, PUBKEY, '').device;
    const additional = JSON.stringify({ sampledevice: sampleEvidence(device) });
    const primary = runtimeDataDigests(NONCE, PUBKEY, additional).primary;
    const r = await verifyComposite(
      { tee: 'sample', primaryEvidence: sampleEvidence(primary), additionalEvidence: additional },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    expect(r.primary.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.devices.map((d) => [d.kind, d.submod, d.result.ok])).toEqual([['sampledevice', 'gpu0', true]]);
    expect(r.ok).toBe(true);
  });

  it('detects a host swapping the device evidence (the primary report data no longer matches)', async () => {
    const device = runtimeDataDigests(NONCE, PUBKEY, '').device;
    const original = JSON.stringify({ sampledevice: sampleEvidence(device) });
    const primary = runtimeDataDigests(NONCE, PUBKEY, original).primary;
    const swapped = JSON.stringify({ sampledevice: { svn: '2', report_data: device.toString('base64') } });
    const r = await verifyComposite(
      { tee: 'sample', primaryEvidence: sampleEvidence(primary), additionalEvidence: swapped },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    expect(r.ok).toBe(false);
    expect(r.devices[0]!.result.ok).toBe(true);
    expect(r.primary.checks.find((c) => c.name === 'report_data')).toMatchObject({ ok: false });
  });

  it('fails a device bound to another nonce', async () => {
    const stale = runtimeDataDigests('b3RoZXI=', PUBKEY, '').device;
    const additional = JSON.stringify({ sampledevice: sampleEvidence(stale) });
    const primary = runtimeDataDigests(NONCE, PUBKEY, additional).primary;
    const r = await verifyComposite(
      { tee: 'sample', primaryEvidence: sampleEvidence(primary), additionalEvidence: additional },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    expect(r.primary.ok).toBe(true);
    expect(r.devices[0]!.result.ok).toBe(false);
    expect(r.ok).toBe(false);
  });

  it('verifies real NVIDIA evidence inside the composite against the device digest', async () => {
    const nvidia = {
      device_evidence_list: [
        {
          arch: 'HOPPER',
          uuid: 'GPU-1',
          evidence: Buffer.from(vectorText('nvidia/hopperAttestationReport.txt').trim(), 'hex').toString('base64'),
          certificate: Buffer.from(vectorText('nvidia/hopper_cert_chain_case1.txt')).toString('base64'),
        },
      ],
    };
    const additional = JSON.stringify({ nvidia });
    const primary = runtimeDataDigests(NONCE, PUBKEY, additional).primary;
    const r = await verifyComposite(
      { tee: 'sample', primaryEvidence: sampleEvidence(primary), additionalEvidence: additional },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    const gpu = r.devices[0]!;
    expect(gpu.submod).toBe('gpu0');
    // The report is genuine (signature, chain, FWID pass) but its SPDM nonce is not this session's device digest.
    expect(gpu.result.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['nonce']);
    const device = runtimeDataDigests(NONCE, PUBKEY, '').device;
    expect(gpu.result.checks.find((c) => c.name === 'nonce')!.reason).toContain(device.subarray(0, 4).toString('hex'));
    expect(HOPPER_NONCE.equals(device.subarray(0, 32))).toBe(false);
    expect(r.ok).toBe(false);
  });

  it('fails closed on unknown device kinds, bad JSON and a GPU as the primary', async () => {
    const d = runtimeDataDigests(NONCE, PUBKEY, '{"tpm":{}}').primary;
    const unknown = await verifyComposite(
      { tee: 'sample', primaryEvidence: sampleEvidence(d), additionalEvidence: '{"tpm":{}}' },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    expect(unknown.ok).toBe(false);
    expect(unknown.checks[0]!.reason).toContain('tpm');
    const badJson = await verifyComposite(
      { tee: 'sample', primaryEvidence: {}, additionalEvidence: '{' },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    expect(badJson.checks[0]).toMatchObject({ name: 'additional_evidence', ok: false });
    const gpuPrimary = await verifyComposite(
      { tee: 'nvidia', primaryEvidence: {}, additionalEvidence: '' },
      { nonce: NONCE, teePubkey: PUBKEY },
    );
    expect(gpuPrimary.ok).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import {
  loadTdxCollateralDir,
  parseSignedCollateral,
  parseTdxQuote,
  pcsTcbInfoUrl,
  verifyEvidence,
  verifyTdx,
  type Check,
  type TdxCollateral,
  type VerificationResult,
} from '../../../../attestation/verifier/index.js';
import { TDX_COLLATERAL_NOW, vector, vectorText, vectorsDir } from './vectors.js';
import path from 'node:path';

const quote = (): Buffer => vector('tdx/tdx_quote_4.dat');
const collateral = (): TdxCollateral => ({
  tcbInfo: vectorText('tdx/sample_tcbInfo_response'),
  qeIdentity: vectorText('tdx/sample_qeIdentity_response'),
  issuerChain: vectorText('tdx/intel_tcb_signing_chain.pem'),
});
const expectedClaims = (): Record<string, unknown> =>
  JSON.parse(vectorText('tdx/parse_tdx_claims_expected.json')) as Record<string, unknown>;
const base = { now: TDX_COLLATERAL_NOW, allowDebug: true };

function check(r: VerificationResult, name: string): Check {
  const c = r.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check "${name}" in ${r.checks.map((x) => x.name).join(', ')}`);
  return c;
}

describe('TDX v4 quote (tdx_quote_4.dat) with Intel collateral', () => {
  it('verifies signatures, the PCK chain, collateral and TCB status (UpToDate)', async () => {
    const r = await verifyTdx(quote(), { ...base, collateral: collateral() });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    for (const n of [
      'quote_signature',
      'qe_report_data',
      'qe_report_signature',
      'pck_chain',
      'tcb_signing_chain',
      'tcb_info_signature',
      'qe_identity_signature',
      'tcb_info',
      'tcb_status',
      'qe_tcb_status',
    ]) {
      expect(check(r, n).ok, n).toBe(true);
    }
    expect(r.claims).toMatchObject({
      fmspc: '50806f000000',
      tcb_status: 'UpToDate',
      qe_tcb_status: 'UpToDate',
      tcb_date: '2023-02-15T00:00:00Z',
    });
    const body = (r.claims.quote as { body: Record<string, string> }).body;
    expect(body.mr_td).toMatch(/^705ee938[0-9a-f]{82}e5f031$/);
    expect(String(r.claims.report_data)).toMatch(/^7c71fe2c[0-9a-f]{114}501429$/);
    expect((r.claims.td_attributes as { debug: boolean }).debug).toBe(true);
  });

  it('produces the claims of parse_tdx_claims_expected.json field by field', async () => {
    const r = await verifyTdx(quote(), { ...base, collateral: collateral(), expectedClaims: expectedClaims() });
    expect(check(r, 'expected_claims')).toMatchObject({ ok: true });
    expect(check(r, 'expected_claims').reason).toContain('uefi_event_logs'); // named as not compared (needs CCEL)
    const exp = expectedClaims();
    expect(r.claims.quote).toEqual(exp.quote);
    expect(r.claims.td_attributes).toEqual(exp.td_attributes);
    expect(r.claims.init_data).toBe(exp.init_data);
    expect(r.claims.platform_instance_id).toBe(exp.platform_instance_id);
    const wrong = { ...exp, report_data: '00' };
    const bad = await verifyTdx(quote(), { ...base, collateral: collateral(), expectedClaims: wrong });
    expect(check(bad, 'expected_claims').ok).toBe(false);
    expect(check(bad, 'expected_claims').reason).toContain('report_data');
  });

  it('refuses the debug TD by default ("no debug TDs" policy)', async () => {
    const r = await verifyTdx(quote(), { now: TDX_COLLATERAL_NOW, collateral: collateral() });
    expect(r.ok).toBe(false);
    expect(check(r, 'debug')).toMatchObject({ ok: false, reason: 'td_attributes.debug is set; debug TDs are refused' });
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['debug']);
  });

  it('fails the quote signature when the TD body is tampered', async () => {
    const b = quote();
    b[48 + 136]! ^= 1; // mr_td
    const r = await verifyTdx(b, { ...base, collateral: collateral() });
    expect(check(r, 'quote_signature').ok).toBe(false);
    expect(check(r, 'qe_report_signature').ok).toBe(true);
    expect(r.ok).toBe(false);
  });

  it('fails the QE report signature and binding when the QE report is tampered', async () => {
    const b = quote();
    const qeReportOff = 48 + 584 + 4 + 128 + 6;
    b[qeReportOff + 320]! ^= 1; // QE report_data
    const r = await verifyTdx(b, { ...base, collateral: collateral() });
    expect(check(r, 'qe_report_data').ok).toBe(false);
    expect(check(r, 'qe_report_signature').ok).toBe(false);
    expect(check(r, 'quote_signature').ok).toBe(true);
  });

  it('needs the injected clock: the collateral and TCB signing leaf are expired today', async () => {
    const r = await verifyTdx(quote(), {
      allowDebug: true,
      collateral: collateral(),
      now: new Date('2026-01-01T00:00:00Z'),
    });
    expect(r.ok).toBe(false);
    expect(check(r, 'tcb_signing_chain').reason).toContain('TCB signing certificate expired 2025-05-21');
    expect(check(r, 'tcb_info').reason).toContain('tcbInfo expired: nextUpdate 2023-07-18T08:42:58Z');
    expect(check(r, 'qe_tcb_status').reason).toContain('QE identity expired');
  });

  it('rejects collateral whose signed text was changed', async () => {
    const c = collateral();
    c.tcbInfo = String(c.tcbInfo).replace('"tcbEvaluationDataNumber":15', '"tcbEvaluationDataNumber":16');
    const r = await verifyTdx(quote(), { ...base, collateral: c });
    expect(check(r, 'tcb_info_signature')).toMatchObject({
      ok: false,
      reason: 'the tcbInfo signature does not verify',
    });
    const q = collateral();
    q.qeIdentity = String(q.qeIdentity).replace('"isvprodid":2', '"isvprodid":3');
    const r2 = await verifyTdx(quote(), { ...base, collateral: q });
    expect(check(r2, 'qe_identity_signature').ok).toBe(false);
    expect(check(r2, 'qe_tcb_status').reason).toContain('QE isvprodid 2 != identity 3');
  });

  it('cuts the exact signed object text out of the PCS body', () => {
    const c = parseSignedCollateral<{ id: string }>(vectorText('tdx/sample_tcbInfo_response'), 'tcbInfo', 'tcbInfo');
    expect(c.value.id).toBe('TDX');
    expect(c.signedText.startsWith('{"id":"TDX"')).toBe(true);
    expect(c.signedText.endsWith('}')).toBe(true);
    expect(c.signature).toHaveLength(64);
    expect(() => parseSignedCollateral('{"tcbInfo":{}}', 'tcbInfo', 'tcbInfo')).toThrow(
      '"signature" must be 128 hex characters',
    );
  });

  it('fails closed without collateral, unless explicitly allowed', async () => {
    const r = await verifyTdx(quote(), base);
    expect(check(r, 'collateral').ok).toBe(false);
    expect(r.ok).toBe(false);
    const allowed = await verifyTdx(quote(), { ...base, allowMissingCollateral: true });
    expect(allowed.ok).toBe(true);
  });

  it('applies the accepted TCB statuses', async () => {
    const r = await verifyTdx(quote(), { ...base, collateral: collateral(), acceptedTcbStatuses: ['OutOfDate'] });
    expect(check(r, 'tcb_status')).toMatchObject({ ok: false, reason: 'platform TCB status UpToDate is not accepted' });
  });

  it('checks report_data, mr_td, RTMRs and mr_config_id (initdata binding)', async () => {
    const q = parseTdxQuote(quote());
    const ok = await verifyTdx(quote(), {
      ...base,
      collateral: collateral(),
      expectedReportData: q.body.reportData,
      expectedMrTd: [Buffer.alloc(48), q.body.mrTd],
      expectedRtmrs: [q.body.rtmrs[0], undefined, Buffer.alloc(48), undefined],
      expectedMrConfigId: Buffer.alloc(32),
    });
    expect(ok.checks.filter((c) => !c.ok)).toEqual([]);
    expect(ok.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['report_data', 'mr_td', 'rtmr_0', 'rtmr_2', 'mr_config_id']),
    );
    const bad = await verifyTdx(quote(), {
      ...base,
      collateral: collateral(),
      expectedReportData: Buffer.alloc(48, 1),
      expectedMrTd: Buffer.alloc(48),
      expectedRtmrs: [undefined, Buffer.alloc(48)],
      expectedMrConfigId: Buffer.alloc(32, 1),
    });
    expect(check(bad, 'report_data').reason).toMatch(/^Report Data Mismatch/);
    expect(check(bad, 'mr_td').ok).toBe(false);
    expect(check(bad, 'rtmr_1').ok).toBe(false);
    expect(check(bad, 'mr_config_id').reason).toMatch(/^MRCONFIGID is different/);
  });

  it('takes the Trustee JSON form and loads collateral from a directory', async () => {
    const r = await verifyEvidence(
      'tdx',
      { quote: quote().toString('base64'), cc_eventlog: null },
      { ...base, collateral: loadTdxCollateralDir(path.join(vectorsDir, 'tdx')) },
    );
    expect(r.ok).toBe(true);
    const bad = await verifyEvidence('tdx', { quote: 'not base64!' }, base);
    expect(bad.checks[0]).toMatchObject({ name: 'parse', ok: false });
    expect(() => loadTdxCollateralDir(path.join(vectorsDir, 'snp'))).toThrow(/expected exactly one TCB info file/);
  });

  it('parses by length fields: trailing zero bytes are ignored, truncation is an error', async () => {
    const padded = Buffer.concat([quote(), Buffer.alloc(70)]);
    expect(parseTdxQuote(padded).size).toBe(quote().length);
    expect((await verifyTdx(padded, { ...base, collateral: collateral() })).ok).toBe(true);
    for (const n of [0, 47, 100, 632, 700, 1200, quote().length - 1]) {
      const r = await verifyTdx(quote().subarray(0, n), base);
      expect(r.checks[0]).toMatchObject({ name: 'parse', ok: false });
    }
    const v3 = quote();
    v3.writeUInt16LE(3, 0);
    expect(() => parseTdxQuote(v3)).toThrow('tdx quote: header.version: unsupported quote version 3 (expected 4 or 5)');
    const sgx = quote();
    sgx.writeUInt32LE(0, 4);
    expect(() => parseTdxQuote(sgx)).toThrow(/tee_type 0x0 is not TDX/);
  });
});

/** Re-wrap tdx_quote_4's body as a v5 quote signed by a fresh attestation key (the QE binding then cannot hold). */
function v5Quote(bodyType: 2 | 3): Buffer {
  const q4 = quote();
  const header = Buffer.from(q4.subarray(0, 48));
  header.writeUInt16LE(5, 0);
  const body =
    bodyType === 2
      ? q4.subarray(48, 632)
      : Buffer.concat([q4.subarray(48, 632), Buffer.alloc(16, 0x22), Buffer.alloc(48, 0x33)]);
  const typeSize = Buffer.alloc(6);
  typeSize.writeUInt16LE(bodyType, 0);
  typeSize.writeUInt32LE(body.length, 2);
  const signed = Buffer.concat([header, typeSize, body]);
  const sigLen = q4.readUInt32LE(632);
  const oldSig = q4.subarray(636, 636 + sigLen);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const attKey = Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const sig = sign('sha256', signed, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const sigData = Buffer.concat([sig, attKey, oldSig.subarray(128)]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(sigData.length);
  return Buffer.concat([signed, len, sigData]);
}

describe('TDX v5 quotes (body types 2 and 3)', () => {
  it('parses a v5 body type 2 and checks the signature over header, type, size and body', async () => {
    const q = v5Quote(2);
    const p = parseTdxQuote(q);
    expect(p.header.version).toBe(5);
    expect(p.bodyType).toBe(2);
    expect(p.signedBytes).toHaveLength(48 + 6 + 584);
    const r = await verifyTdx(q, { ...base, collateral: collateral() });
    expect(check(r, 'quote_signature').ok).toBe(true);
    expect(check(r, 'qe_report_data').ok).toBe(false); // a different attestation key is not the one the QE bound
    expect(check(r, 'qe_report_signature').ok).toBe(true);
    expect(r.ok).toBe(false);
  });

  it('parses a v5 TDX 1.5 body (type 3, 648 bytes) with tee_tcb_svn2 and mr_servicetd', async () => {
    const q = v5Quote(3);
    const p = parseTdxQuote(q);
    expect(p.bodyType).toBe(3);
    expect(p.body.teeTcbSvn2?.toString('hex')).toBe('22'.repeat(16));
    expect(p.body.mrServiceTd?.toString('hex')).toBe('33'.repeat(48));
    const r = await verifyTdx(q, { ...base, allowMissingCollateral: true });
    expect(check(r, 'quote_signature').ok).toBe(true);
    expect((r.claims.quote as { type: number }).type).toBe(3);
    const bad = Buffer.from(q);
    bad.writeUInt32LE(584, 50); // size does not match type 3
    expect(() => parseTdxQuote(bad)).toThrow('body size 584 does not match body type 3 (expected 648)');
  });
});

describe('TDX collateral fetch hook', () => {
  it('asks for the PCK FMSPC and verifies with what the hook returns; a failing hook fails closed', async () => {
    const asked: string[] = [];
    const r = await verifyTdx(quote(), {
      ...base,
      fetchCollateral: async (fmspc) => (asked.push(fmspc), collateral()),
    });
    expect(asked).toEqual(['50806f000000']);
    expect(r.ok).toBe(true);
    const failing = await verifyTdx(quote(), {
      ...base,
      allowMissingCollateral: true,
      fetchCollateral: async () => Promise.reject(new Error('PCS answered HTTP 503')),
    });
    expect(failing.ok).toBe(false);
    expect(failing.checks.find((c) => c.name === 'collateral')!.reason).toContain('HTTP 503');
    expect(pcsTcbInfoUrl('50806F000000')).toBe(
      'https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=50806f000000',
    );
    expect(() => pcsTcbInfoUrl('xyz')).toThrow('FMSPC must be 12 hex digits');
  });
});

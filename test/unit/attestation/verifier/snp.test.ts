import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import {
  decodeSnpTcb,
  kdsVcekUrl,
  parseSnpCertTable,
  parseSnpEvidenceJson,
  parseSnpReport,
  readVekExtensions,
  snpReportFromJson,
  verifyEvidence,
  verifySnp,
  type Check,
  type VerificationResult,
} from '../../../../attestation/verifier/index.js';
import { vector, vectorText } from './vectors.js';

const report = (): Buffer => vector('snp/test-report.bin');
const vcek = (): Buffer => vector('snp/test-vcek.der');
const milan = (): Buffer => vector('snp/milan_ask_ark_asvk.pem');
const genoaJson = (): Record<string, unknown> =>
  JSON.parse(vectorText('snp/genoa-evidence.json')) as Record<string, unknown>;

function check(r: VerificationResult, name: string): Check {
  const c = r.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check "${name}" in ${r.checks.map((x) => x.name).join(', ')}`);
  return c;
}

describe('SNP v2 Milan report (test-report.bin + test-vcek.der)', () => {
  it('verifies end to end when v2 reports are allowed', async () => {
    const r = await verifySnp({ report: report() }, { vek: vcek(), amdCertChain: milan(), minReportVersion: 2 });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    for (const name of [
      'ark_pinned',
      'ark_self_signed',
      'ask_signed_by_ark',
      'vek_signed_by_ask',
      'signature',
      'vek_tcb',
      'hwid',
      'debug',
      'vmpl',
    ]) {
      expect(check(r, name).ok, name).toBe(true);
    }
    expect(check(r, 'vek_tcb').reason).toContain('(3, 0, 8, 115)');
    expect(r.claims).toMatchObject({
      version: 2,
      generation: 'Milan',
      vmpl: 0,
      signing_key: 'vcek',
      reported_tcb_bootloader: 3,
      reported_tcb_tee: 0,
      reported_tcb_snp: 8,
      reported_tcb_microcode: 115,
      policy_debug_allowed: false,
      product_name: 'Milan-B0',
    });
    expect(String(r.claims.report_data)).toMatch(/^ec6c52d7[0-9a-f]{56}0{64}$/);
  });

  it('is rejected by the default strict verifier: report version 2 < 3', async () => {
    const r = await verifySnp({ report: report() }, { vek: vcek(), amdCertChain: milan() });
    expect(r.ok).toBe(false);
    expect(check(r, 'report_version')).toEqual({ name: 'report_version', ok: false, reason: 'report version 2 < 3' });
  });

  it('builds the KDS VCEK URL from chip_id and reported_tcb', () => {
    const p = parseSnpReport(report());
    const url = kdsVcekUrl('Milan', p.chipId, decodeSnpTcb(p.reportedTcbRaw, 'Milan'));
    expect(url).toMatch(
      /^https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Milan\/c38427a3[0-9a-f]{113}477524e\?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115$/,
    );
    expect(url).toContain(p.chipId.toString('hex'));
    const turin = kdsVcekUrl('Turin', p.chipId, { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 });
    expect(turin).toBe(
      `https://kdsintf.amd.com/vcek/v1/Turin/${p.chipId.subarray(0, 8).toString('hex')}?fmcSPL=01&blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=05`,
    );
  });

  it('fails the signature when byte 42 is flipped', async () => {
    const b = report();
    b[42]! ^= 0x01;
    const r = await verifySnp({ report: b }, { vek: vcek(), amdCertChain: milan(), minReportVersion: 2 });
    expect(r.ok).toBe(false);
    expect(check(r, 'signature').ok).toBe(false);
    expect(check(r, 'vek_signed_by_ask').ok).toBe(true);
  });

  it('fails the signature and the VCEK TCB check when reported_tcb (0x180) is changed', async () => {
    const b = report();
    b[0x180]! ^= 0x01;
    const r = await verifySnp({ report: b }, { vek: vcek(), amdCertChain: milan(), minReportVersion: 2 });
    expect(check(r, 'signature').ok).toBe(false);
    expect(check(r, 'vek_tcb')).toMatchObject({ ok: false, reason: 'blSPL 3 != reported_tcb.bootloader 2' });
  });

  it('refuses a debug policy unless allowed (checked on a report with DEBUG set)', async () => {
    const b = report();
    b[0x0a]! |= 0x08; // policy bit 19
    const r = await verifySnp({ report: b }, { vek: vcek(), amdCertChain: milan(), minReportVersion: 2 });
    expect(check(r, 'debug')).toMatchObject({ ok: false });
    expect(check(r, 'debug').reason).toContain('DEBUG');
    expect(check(r, 'signature').ok).toBe(false); // the change is not signed
    const allowed = await verifySnp(
      { report: b },
      { vek: vcek(), amdCertChain: milan(), minReportVersion: 2, allowDebug: true },
    );
    expect(check(allowed, 'debug').ok).toBe(true);
  });

  it('checks vmpl, measurement, host_data, minimum TCB and guest SVN policies', async () => {
    const p = parseSnpReport(report());
    const r = await verifySnp(
      { report: report() },
      {
        vek: vcek(),
        amdCertChain: milan(),
        minReportVersion: 2,
        vmpl: 1,
        expectedMeasurement: [Buffer.alloc(48, 1), p.measurement],
        expectedHostData: Buffer.alloc(32, 7),
        minTcb: { snp: 9, microcode: 100 },
        minGuestSvn: 5,
      },
    );
    expect(check(r, 'vmpl')).toMatchObject({ ok: false, reason: 'vmpl = 0, expected 1' });
    expect(check(r, 'measurement').ok).toBe(true);
    expect(check(r, 'host_data').ok).toBe(false);
    expect(check(r, 'min_tcb')).toMatchObject({ ok: false, reason: 'reported_tcb.snp 8 < 9' });
    expect(check(r, 'guest_svn').ok).toBe(false);
    const m2 = await verifySnp(
      { report: report() },
      {
        vek: vcek(),
        amdCertChain: milan(),
        minReportVersion: 2,
        expectedMeasurement: Buffer.alloc(48),
        expectedHostData: Buffer.alloc(48),
      },
    );
    expect(check(m2, 'measurement').ok).toBe(false);
    expect(check(m2, 'host_data').ok).toBe(true); // zero digest fitted (truncated) to 32 bytes
  });

  it('binds report_data (zero-padded expected value)', async () => {
    const p = parseSnpReport(report());
    const good = await verifySnp(
      { report: report() },
      { vek: vcek(), amdCertChain: milan(), minReportVersion: 2, expectedReportData: p.reportData.subarray(0, 32) },
    );
    expect(check(good, 'report_data').ok).toBe(true);
    const bad = await verifySnp(
      { report: report() },
      { vek: vcek(), amdCertChain: milan(), minReportVersion: 2, expectedReportData: Buffer.alloc(48, 9) },
    );
    expect(check(bad, 'report_data').reason).toMatch(/^Report Data Mismatch/);
    expect(bad.ok).toBe(false);
  });

  it('rejects the wrong generation and a chain from another generation', async () => {
    const r = await verifySnp(
      { report: report() },
      { vek: vcek(), amdCertChain: vector('snp/genoa_ask_ark_asvk.pem'), minReportVersion: 2 },
    );
    expect(r.ok).toBe(false);
    expect(check(r, 'ark_pinned')).toMatchObject({
      ok: false,
      reason: 'no ARK-Milan certificate in the evidence or the given AMD chain',
    });
    const g = await verifySnp(
      { report: report() },
      { vek: vcek(), amdCertChain: vector('snp/genoa_ask_ark_asvk.pem'), minReportVersion: 2, generation: 'Genoa' },
    );
    expect(check(g, 'generation')).toMatchObject({ ok: false, reason: 'the VCEK is issued for Milan, expected Genoa' });
    expect(g.ok).toBe(false);
  });

  it('rejects a VCEK that does not belong to the chip / TCB (test-vcek-invalid-legacy.der)', async () => {
    const r = await verifySnp(
      { report: report() },
      { vek: vector('snp/test-vcek-invalid-legacy.der'), amdCertChain: milan(), minReportVersion: 2 },
    );
    expect(r.ok).toBe(false);
    expect(check(r, 'hwid').ok).toBe(false);
    expect(check(r, 'vek_tcb').reason).toContain('snpSPL 10 != reported_tcb.snp 8');
    expect(check(r, 'vek_tcb').reason).toContain('ucodeSPL 169 != reported_tcb.microcode 115');
    const ext = readVekExtensions(new X509Certificate(vector('snp/test-vcek-invalid-legacy.der')));
    expect(ext.hwId?.subarray(0, 4).toString('hex')).toBe('00010203');
  });

  it('fails without a VCEK, naming the KDS URL, and uses the fetch hook', async () => {
    const none = await verifySnp(
      { report: report() },
      { amdCertChain: milan(), minReportVersion: 2, generation: 'Milan' },
    );
    expect(check(none, 'vek').ok).toBe(false);
    expect(check(none, 'vek').reason).toContain('https://kdsintf.amd.com/vcek/v1/Milan/c38427a3');
    const urls: string[] = [];
    const fetched = await verifySnp(
      { report: report() },
      {
        amdCertChain: milan(),
        minReportVersion: 2,
        generation: 'Milan',
        fetchVcek: async (u) => (urls.push(u), vcek()),
      },
    );
    expect(urls).toHaveLength(1);
    expect(urls[0]).toMatch(/ucodeSPL=115$/);
    expect(fetched.ok).toBe(true);
    const failing = await verifySnp(
      { report: report() },
      {
        amdCertChain: milan(),
        minReportVersion: 2,
        generation: 'Milan',
        fetchVcek: async () => Promise.reject(new Error('HTTP 429')),
      },
    );
    expect(check(failing, 'vek').reason).toContain('HTTP 429');
  });

  it('fetches the ASK/ARK from the KDS cert_chain URL when none is given', async () => {
    const urls: string[] = [];
    const r = await verifySnp(
      { report: report() },
      { vek: vcek(), minReportVersion: 2, fetchAmdCertChain: async (u) => (urls.push(u), milan()) },
    );
    expect(urls).toEqual(['https://kdsintf.amd.com/vcek/v1/Milan/cert_chain']);
    expect(r.ok).toBe(true);
    const none = await verifySnp({ report: report() }, { vek: vcek(), minReportVersion: 2 });
    expect(none.checks.find((c) => c.name === 'ark_pinned')).toMatchObject({ ok: false });
  });

  it('honours the injected clock for certificate validity', async () => {
    const r = await verifySnp(
      { report: report() },
      { vek: vcek(), amdCertChain: milan(), minReportVersion: 2, now: new Date('2031-01-01T00:00:00Z') },
    );
    expect(check(r, 'cert_validity').ok).toBe(false);
    expect(check(r, 'cert_validity').reason).toContain('VCEK expired 2030-01-24');
  });

  it('turns malformed reports into a failed parse check', async () => {
    for (const bad of [report().subarray(0, 1000), Buffer.alloc(0), Buffer.concat([report(), Buffer.alloc(1)])]) {
      const r = await verifySnp({ report: bad }, { vek: vcek(), amdCertChain: milan() });
      expect(r.ok).toBe(false);
      expect(r.checks[0]).toMatchObject({ name: 'parse', ok: false });
      expect(r.checks[0]!.reason).toContain('expected exactly 1184 bytes');
    }
    const v9 = report();
    v9.writeUInt32LE(9, 0);
    expect(() => parseSnpReport(v9)).toThrow(/unsupported version 9/);
  });
});

describe('SNP Trustee JSON evidence (genoa-evidence.json, v3 Genoa, embedded VCEK)', () => {
  const genoaChain = (): Buffer => vector('snp/genoa_ask_ark_asvk.pem');

  it('rebuilds the signed bytes and verifies against the Genoa chain', async () => {
    const r = await verifyEvidence('snp', genoaJson(), { amdCertChain: genoaChain() });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(check(r, 'generation').reason).toBe('Genoa (from CPUID)');
    expect(check(r, 'vek').reason).toBe('VCEK from evidence');
    expect(r.claims).toMatchObject({
      version: 3,
      generation: 'Genoa',
      cpuid_fam_id: 0x19,
      cpuid_mod_id: 0xa0,
      reported_tcb_bootloader: 10,
      reported_tcb_snp: 23,
      reported_tcb_microcode: 25,
    });
    expect(String(r.claims.report_data)).toMatch(/^7e732088[0-9a-f]{114}0cf9b0$/);
  });

  it('says "Report Data Mismatch" for a wrong expected report_data, passes for the right one', async () => {
    const bad = await verifyEvidence('snp', genoaJson(), {
      amdCertChain: genoaChain(),
      expectedReportData: Buffer.alloc(64, 1),
    });
    expect(bad.ok).toBe(false);
    expect(check(bad, 'report_data').reason).toMatch(/^Report Data Mismatch/);
    const rd = Buffer.from((genoaJson().attestation_report as { report_data: number[] }).report_data);
    const good = await verifyEvidence('snp', genoaJson(), { amdCertChain: genoaChain(), expectedReportData: rd });
    expect(good.ok).toBe(true);
  });

  it('fails with the Milan chain (wrong generation roots) and with a changed JSON field', async () => {
    const r = await verifyEvidence('snp', genoaJson(), { amdCertChain: milan() });
    expect(check(r, 'ark_pinned').ok).toBe(false);
    const j = genoaJson();
    (j.attestation_report as { guest_svn: number }).guest_svn = 1;
    const t = await verifyEvidence('snp', j, { amdCertChain: genoaChain() });
    expect(check(t, 'signature').ok).toBe(false);
  });

  it('round-trips: the rebuilt raw report parses back to the JSON values, also as base64 evidence', async () => {
    const j = genoaJson();
    const raw = snpReportFromJson(j.attestation_report);
    const p = parseSnpReport(raw);
    const ar = j.attestation_report as Record<string, unknown>;
    expect(p.version).toBe(3);
    expect(p.policy).toBe(BigInt(ar.policy as number));
    expect([...p.chipId]).toEqual(ar.chip_id);
    expect(p.currentVersion).toEqual(ar.current);
    const b64 = await verifyEvidence(
      'snp',
      { attestation_report: raw.toString('base64'), cert_chain: j.cert_chain },
      { amdCertChain: genoaChain() },
    );
    expect(b64.ok).toBe(true);
  });

  it('rejects malformed JSON evidence with the field named', async () => {
    const j = genoaJson();
    (j.attestation_report as { measurement: number[] }).measurement = [1, 2, 3];
    expect(() => parseSnpEvidenceJson(j)).toThrow(
      'snp evidence: attestation_report.measurement: expected 48 bytes, got 3',
    );
    const r = await verifyEvidence('snp', '{"attestation_report": 5}', {});
    expect(r.ok).toBe(false);
    expect(r.checks[0]!.reason).toContain('attestation_report');
    const notJson = await verifyEvidence('snp', 'not json', {});
    expect(notJson.checks[0]).toMatchObject({ name: 'parse', ok: false });
  });

  it('parses a host certificate table (auxblob) by GUID', () => {
    const der = vcek();
    const table = Buffer.alloc(48 + der.length);
    // VCEK GUID 63da758d-e664-4564-adc5-f4b93be8accd in its mixed-endian byte layout
    Buffer.from('8d75da6364e66445adc5f4b93be8accd', 'hex').copy(table, 0);
    table.writeUInt32LE(48, 16);
    table.writeUInt32LE(der.length, 20);
    der.copy(table, 48);
    const entries = parseSnpCertTable(table);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.type).toBe('VCEK');
    expect(entries[0]!.label).toBe('63da758d-e664-4564-adc5-f4b93be8accd');
    expect(entries[0]!.der.equals(der)).toBe(true);
    expect(() => parseSnpCertTable(table.subarray(0, 30))).toThrow(
      /points at \[48, \d+\) beyond the table \(30 bytes\)/,
    );
    expect(() => parseSnpCertTable(table.subarray(0, 20))).toThrow(/without a terminator/);
  });
});

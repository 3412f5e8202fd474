/**
 * `ccgpu kbs serve` configuration: TOML parsing with errors naming file and key, and the [verifier] section feeding
 * the real SNP / TDX verifiers (AMD chain directory, TDX collateral directory) used by /attest.
 */
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildHardwareVerifierOptions,
  buildKbsPolicy,
  cachedFetcher,
  libraryVerifier,
  parseKbsConfig,
} from '../../../../attestation/kbs/index.js';

const repoRoot = path.resolve(__dirname, '../../../..');
const vectors = path.resolve(repoRoot, '../shared/vectors');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kbs-config-'));
  mkdirSync(path.join(dir, 'amd'));
  for (const g of ['milan', 'genoa', 'turin'])
    copyFileSync(path.join(vectors, `snp/${g}_ask_ark_asvk.pem`), path.join(dir, 'amd', `${g}_ask_ark_asvk.pem`));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const genoaEvidence = (): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(vectors, 'snp/genoa-evidence.json'), 'utf8')) as Record<string, unknown>;

describe('KBS config', () => {
  it('parses every section; paths are relative to the config file', () => {
    const file = path.join(dir, 'kbs.toml');
    const cfg = parseKbsConfig(
      `[http]\nlisten = "0.0.0.0:8443"\n[admin]\nmode = "insecure-allow-all"\n[storage]\nresource_dir = "res"\n[session]\ntimeout_minutes = 2\n[token]\nlifetime_minutes = 1\n[policy]\ninsecure_allow_sample = true\nreference_values = "rv.json"\n[verifier]\namd_cert_chain = "amd"\ntdx_collateral_dir = "${path.join(vectors, 'tdx')}"\nsnp_kds = true\npcs_url = "https://pccs.local:8081/"\n`,
      file,
    );
    expect(cfg.listen).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(cfg.resourceDir).toBe(path.join(dir, 'res'));
    expect(cfg.referenceValues).toBe(path.join(dir, 'rv.json'));
    expect(cfg.verifier).toEqual({
      snpKds: true,
      tdxPcs: false,
      amdCertChain: path.join(dir, 'amd'),
      tdxCollateralDir: path.join(vectors, 'tdx'),
      pcsUrl: 'https://pccs.local:8081',
    });
    expect(cfg.insecureAllowSample).toBe(true);
    const hw = buildHardwareVerifierOptions(cfg);
    expect(typeof hw.fetchVcek).toBe('function');
    expect(hw.fetchCollateral).toBeUndefined();
    expect(String(hw.amdCertChain).match(/BEGIN CERTIFICATE/g)!.length).toBe(9);
    expect(hw.collateral?.tcbInfo).toMatch(/tcbInfo/);
  });

  it('errors name the file and key', () => {
    const f = '/etc/ccgpu/kbs.toml';
    expect(() => parseKbsConfig('[http]\nlisten = "nope"', f)).toThrow(
      /kbs\.toml \[http\.listen\]: must be "<host>:<port>"/,
    );
    expect(() => parseKbsConfig('[bogus]\n', f)).toThrow(/\[bogus\]: unknown section/);
    expect(() => parseKbsConfig('[admin]\nmode = "ed25519"', f)).toThrow(
      /\[admin\.public_key\]: mode ed25519 needs public_key/,
    );
    expect(() => parseKbsConfig('[verifier]\nsnp_kds = "yes"', f)).toThrow(/\[verifier\.snp_kds\]: must be a boolean/);
    expect(() => parseKbsConfig('[session]\ntimeout_minutes = 0', f)).toThrow(/\[session\.timeout_minutes\]/);
    const both = parseKbsConfig('[policy]\nallow_list = "a.json"\nresource_policy = "r.rego"', f);
    expect(() => buildKbsPolicy(both)).toThrow(/exclude each other/);
    const missing = parseKbsConfig('[verifier]\namd_cert_chain = "/nonexistent/amd"', f);
    expect(() => buildHardwareVerifierOptions(missing)).toThrow(
      /\/nonexistent\/amd: cannot read AMD certificate chain: ENOENT/,
    );
  });

  it('default policy is Rego; allow_list selects the fail-closed list', () => {
    expect(buildKbsPolicy(parseKbsConfig('', '/x.toml')).kind).toBe('rego');
    writeFileSync(path.join(dir, 'allow.json'), JSON.stringify({ allow: [{ path: 'default/*/*', tees: ['snp'] }] }));
    expect(
      buildKbsPolicy(parseKbsConfig(`[policy]\nallow_list = "${path.join(dir, 'allow.json')}"`, '/x.toml')).kind,
    ).toMatch(/allow-list/);
  });

  it('/attest verifier: real Genoa SNP evidence verifies with the configured AMD chain, fails closed without it', async () => {
    const ev = genoaEvidence();
    const rd = Buffer.from((ev.attestation_report as { report_data: number[] }).report_data);
    const cfg = parseKbsConfig(`[verifier]\namd_cert_chain = "amd"`, path.join(dir, 'kbs.toml'));
    const verify = libraryVerifier('snp', buildHardwareVerifierOptions(cfg));
    const ok = await verify({
      tee: 'snp',
      evidence: ev,
      expectedReportData: rd,
      now: Date.parse('2026-01-01T00:00:00Z'),
    });
    expect(ok.claims).toMatchObject({ generation: 'Genoa', reported_tcb_snp: 23 });
    expect(ok.reportData).toEqual(rd);
    await expect(
      verify({ tee: 'snp', evidence: ev, expectedReportData: Buffer.alloc(48, 1), now: Date.now() }),
    ).rejects.toThrow(/Report Data Mismatch/);
    const bare = libraryVerifier('snp');
    await expect(bare({ tee: 'snp', evidence: ev, expectedReportData: rd, now: Date.now() })).rejects.toThrow(
      /ASK|ARK|chain/i,
    );
  });

  it('/attest verifier: the real TDX v4 quote passes every check with the configured collateral except debug, which the KBS refuses', async () => {
    const quote = readFileSync(path.join(vectors, 'tdx/tdx_quote_4.dat'));
    const cfg = parseKbsConfig(
      `[verifier]\ntdx_collateral_dir = "${path.join(vectors, 'tdx')}"`,
      path.join(dir, 'kbs.toml'),
    );
    const verify = libraryVerifier('tdx', buildHardwareVerifierOptions(cfg));
    const rd = quote.subarray(48 + 520, 48 + 584);
    const err = (await verify({
      tee: 'tdx',
      evidence: { cc_eventlog: null, quote: quote.toString('base64') },
      expectedReportData: rd,
      now: Date.parse('2023-07-01T00:00:00Z'),
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/debug/i);
    expect(err.message).not.toMatch(/collateral|signature|chain|report_data/i); // only the debug attribute failed
    const bare = libraryVerifier('tdx');
    await expect(
      bare({
        tee: 'tdx',
        evidence: { quote: quote.toString('base64') },
        expectedReportData: rd,
        now: Date.parse('2023-07-01T00:00:00Z'),
      }),
    ).rejects.toThrow(/collateral/i);
  });

  it('cachedFetcher memoises by key and does not cache failures', async () => {
    let calls = 0;
    let fail = true;
    const f = cachedFetcher(async (k: string) => {
      calls++;
      if (fail) throw new Error('429');
      return k.length;
    });
    await expect(f('abc')).rejects.toThrow('429');
    fail = false;
    expect(await f('abc')).toBe(3);
    expect(await f('abc')).toBe(3);
    expect(calls).toBe(2);
  });
});

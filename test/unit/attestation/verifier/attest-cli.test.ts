import { afterEach, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import { run } from '../../../../src/cli/commands/attest.js';
import { HOPPER_NONCE, vectorsDir } from './vectors.js';

const v = (rel: string): string => path.join(vectorsDir, rel);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await run(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('ccgpu attest verify', () => {
  it('tdx: prints claims and checks, exit 0 with collateral, a fixed clock and --allow-debug', async () => {
    const r = await cli([
      'verify',
      '--tee',
      'tdx',
      '--evidence',
      v('tdx/tdx_quote_4.dat'),
      '--collateral',
      v('tdx'),
      '--now',
      '2023-07-01T00:00:00Z',
      '--allow-debug',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as {
      ok: boolean;
      claims: { tcb_status: string };
      checks: Array<{ name: string; ok: boolean }>;
    };
    expect(res.ok).toBe(true);
    expect(res.claims.tcb_status).toBe('UpToDate');
    expect(res.checks.length).toBeGreaterThan(10);
  });

  it('tdx: exit 1 for a debug TD without --allow-debug, and when the collateral has expired', async () => {
    const debug = await cli([
      'verify',
      '--tee',
      'tdx',
      '--evidence',
      v('tdx/tdx_quote_4.dat'),
      '--collateral',
      v('tdx'),
      '--now',
      '2023-07-01T00:00:00Z',
    ]);
    expect(debug.code).toBe(1);
    const expired = await cli([
      'verify',
      '--tee',
      'tdx',
      '--evidence',
      v('tdx/tdx_quote_4.dat'),
      '--collateral',
      v('tdx'),
      '--allow-debug',
    ]);
    expect(expired.code).toBe(1);
    expect(expired.out).toContain('expired');
  });

  it('snp: raw report with --cert and --chain; v2 needs --min-report-version 2; --report-data binds', async () => {
    const args = [
      'verify',
      '--tee',
      'snp',
      '--evidence',
      v('snp/test-report.bin'),
      '--cert',
      v('snp/test-vcek.der'),
      '--chain',
      v('snp/milan_ask_ark_asvk.pem'),
    ];
    expect((await cli(args)).code).toBe(1);
    expect((await cli([...args, '--min-report-version', '2'])).code).toBe(0);
    const bad = await cli([...args, '--min-report-version', '2', '--report-data', 'ab'.repeat(32)]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('Report Data Mismatch');
  });

  it('snp: Trustee JSON evidence with the Genoa chain', async () => {
    const r = await cli([
      'verify',
      '--tee',
      'snp',
      '--evidence',
      v('snp/genoa-evidence.json'),
      '--chain',
      v('snp/genoa_ask_ark_asvk.pem'),
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, tee: 'snp', claims: { generation: 'Genoa' } });
  });

  it('nvidia: hex report with its chain and nonce; a wrong nonce exits 1', async () => {
    const args = [
      'verify',
      '--tee',
      'nvidia',
      '--evidence',
      v('nvidia/hopperAttestationReport.txt'),
      '--chain',
      v('nvidia/hopper_cert_chain_case1.txt'),
    ];
    expect((await cli([...args, '--nonce', HOPPER_NONCE.toString('hex')])).code).toBe(0);
    expect((await cli([...args, '--nonce', '00'.repeat(32)])).code).toBe(1);
  });

  it('usage errors exit 2 with a clear message', async () => {
    expect((await cli(['verify', '--tee', 'sgx', '--evidence', 'x'])).err).toContain(
      '--tee: expected one of snp, tdx, nvidia, sample, got "sgx"',
    );
    expect((await cli(['verify', '--tee', 'snp'])).code).toBe(2);
    const badHex = await cli(['verify', '--tee', 'snp', '--evidence', v('snp/test-report.bin'), '--nonce', 'xyz']);
    expect(badHex.code).toBe(2);
    expect(badHex.err).toContain('--nonce: expected an even number of hex digits');
    const missing = await cli(['verify', '--tee', 'snp', '--evidence', '/nonexistent/file']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--evidence /nonexistent/file');
    expect(
      (await cli(['verify', '--tee', 'tdx', '--evidence', v('tdx/tdx_quote_4.dat'), '--now', 'yesterday'])).err,
    ).toContain('--now');
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['verify', '--bogus'])).code).toBe(2);
  });
});

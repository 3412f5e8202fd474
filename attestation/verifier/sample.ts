/**
 * The software-only `sample` TEE (and the `sampledevice` additional device): evidence
 * `{"svn":"1","report_data":"<base64 digest>","init_data"?:"<base64>"}`. INSECURE: there is no hardware signature;
 * it exists for development KBS setups. report_data must equal the expected digest byte for byte (no padding).
 */
import { timingSafeEqual } from 'node:crypto';
import { CheckList } from './check-list.js';
import { shortHex } from './report-data.js';
import type { CommonVerifyOptions, VerificationResult } from './types.js';

export interface SampleVerifyOptions extends CommonVerifyOptions {
  expectedInitData?: Uint8Array;
  /** Name reported in the claims (`sample` or `sampledevice`). */
  kind?: 'sample' | 'sampledevice';
}

function b64(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, 'base64');
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function verifySample(evidence: unknown, opts: SampleVerifyOptions = {}): Promise<VerificationResult> {
  const checks = new CheckList(opts.logger);
  const kind = opts.kind ?? 'sample';
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) {
    checks.fail('parse', `${kind} evidence must be a JSON object {svn, report_data}`);
    return checks.result('sample', {});
  }
  const o = evidence as Record<string, unknown>;
  const rd = b64(o.report_data);
  if (typeof o.svn !== 'string' || !/^\d{1,10}$/.test(o.svn) || !rd) {
    checks.fail('parse', `${kind} evidence needs "svn" (decimal string) and "report_data" (base64)`);
    return checks.result('sample', {});
  }
  checks.pass('parse', `${kind} evidence (software only, INSECURE)`);
  const claims: Record<string, unknown> = { svn: o.svn, report_data: rd.toString('hex'), insecure: true };
  if (kind === 'sampledevice') claims.device = 'sampledevice';
  const init = o.init_data === undefined || o.init_data === null ? undefined : b64(o.init_data);
  if (init) claims.init_data = init.toString('hex');
  if (opts.expectedReportData === undefined) checks.fail('report_data', 'no expected report data given');
  else {
    const ok = same(rd, opts.expectedReportData);
    checks.add(
      'report_data',
      ok,
      ok
        ? 'report_data matches'
        : `Report Data Mismatch: ${shortHex(rd)} != expected ${shortHex(opts.expectedReportData)}`,
    );
  }
  if (opts.expectedInitData !== undefined) {
    const ok = !!init && same(init, opts.expectedInitData);
    checks.add(
      'init_data',
      ok,
      ok
        ? 'init_data matches'
        : init
          ? 'init_data does not match the initdata digest'
          : 'the evidence binds no init_data',
    );
  }
  return checks.result('sample', claims);
}

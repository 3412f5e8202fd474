import { describe, expect, it } from 'vitest';
import {
  decodeSnpTcb,
  encodeSnpTcb,
  parseSnpEvidenceJson,
  parseSnpReport,
  snpGenerationFromCpuid,
  verifyEvidence,
} from '../../../../attestation/verifier/index.js';
import { CheckList, guarded } from '../../../../attestation/verifier/check-list.js';
import { vector, vectorText } from './vectors.js';

describe('SNP layouts per version and generation', () => {
  it('maps CPUID family/model to Milan, Genoa and Turin', () => {
    expect(snpGenerationFromCpuid(0x19, 0x01)).toBe('Milan');
    expect(snpGenerationFromCpuid(0x19, 0x11)).toBe('Genoa');
    expect(snpGenerationFromCpuid(0x19, 0xa0)).toBe('Genoa');
    expect(snpGenerationFromCpuid(0x1a, 0x02)).toBe('Turin');
    expect(snpGenerationFromCpuid(0x19, 0x50)).toBeUndefined();
    expect(snpGenerationFromCpuid(0x17, 0x01)).toBeUndefined();
  });

  it('decodes TCB_VERSION with the Milan/Genoa and the Turin layouts', () => {
    const raw = Buffer.from([1, 2, 3, 4, 0, 0, 7, 8]);
    expect(decodeSnpTcb(raw, 'Milan')).toEqual({ bootloader: 1, tee: 2, snp: 7, microcode: 8 });
    expect(decodeSnpTcb(raw, 'Turin')).toEqual({ fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 8 });
    const t = { fmc: 9, bootloader: 8, tee: 7, snp: 6, microcode: 5 };
    expect(decodeSnpTcb(encodeSnpTcb(t, 'Turin'), 'Turin')).toEqual(t);
    expect(parseSnpReport(vector('snp/test-report.bin')).cpuid).toBeUndefined(); // v2: no CPUID bytes
  });

  it('reads v3 CPUID and v5 mitigation vectors', () => {
    const raw = Buffer.from(parseSnpEvidenceJson(vectorText('snp/genoa-evidence.json')).report);
    const v3 = parseSnpReport(raw);
    expect(v3.cpuid).toEqual({ family: 0x19, model: 0xa0, stepping: 2 });
    expect(v3.launchMitVector).toBeUndefined();
    raw.writeUInt32LE(5, 0);
    raw.writeBigUInt64LE(0x11n, 0x1f8);
    raw.writeBigUInt64LE(0x22n, 0x200);
    const v5 = parseSnpReport(raw);
    expect(v5.launchMitVector).toBe(0x11n);
    expect(v5.currentMitVector).toBe(0x22n);
  });

  it('rejects a report whose CPUID names an unknown part, and a Turin expectation for a Genoa report', async () => {
    const j = JSON.parse(vectorText('snp/genoa-evidence.json')) as { attestation_report: Record<string, unknown> };
    const chain = vector('snp/genoa_ask_ark_asvk.pem');
    const turin = await verifyEvidence('snp', j, { amdCertChain: chain, generation: 'Turin' });
    expect(turin.checks.find((c) => c.name === 'generation')).toMatchObject({
      ok: false,
      reason: 'report CPUID says Genoa, expected Turin',
    });
    j.attestation_report.cpuid_fam_id = 0x17;
    const odd = await verifyEvidence('snp', j, { amdCertChain: chain });
    expect(odd.ok).toBe(false);
    expect(odd.checks.find((c) => c.name === 'generation')!.reason).toContain('not a known SNP generation');
  });

  it('refuses reports not signed by a VCEK or VLEK', async () => {
    const j = JSON.parse(vectorText('snp/genoa-evidence.json')) as { attestation_report: Record<string, unknown> };
    j.attestation_report.key_info = 7 << 2; // signing key "none"
    const r = await verifyEvidence('snp', j, { amdCertChain: vector('snp/genoa_ask_ark_asvk.pem') });
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'signing_key')!.reason).toContain('"none"');
  });

  it('turns an unexpected exception inside a verifier into a failed internal check', async () => {
    const checks = new CheckList();
    checks.pass('parse');
    const r = await guarded(
      'tdx',
      checks,
      () => ({ partial: true }),
      async () => {
        throw new TypeError('boom');
      },
    );
    expect(r.ok).toBe(false);
    expect(r.claims).toEqual({ partial: true });
    expect(r.checks.at(-1)).toEqual({ name: 'internal', ok: false, reason: 'verification aborted: boom' });
  });
});

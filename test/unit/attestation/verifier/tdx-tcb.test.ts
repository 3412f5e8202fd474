import { describe, expect, it } from 'vitest';
import {
  evaluateQeIdentity,
  evaluateTdxTcb,
  parseSignedCollateral,
  type QeIdentity,
  type TdxTcbInfo,
} from '../../../../attestation/verifier/index.js';
import { vectorText } from './vectors.js';

const comps = (svns: number[]): Array<{ svn: number }> => svns.map((svn) => ({ svn }));
const sixteen = (first: number[], rest = 0): number[] => [...first, ...Array<number>(16 - first.length).fill(rest)];

function info(
  levels: Array<{ sgx: number[]; pce: number; tdx: number[]; status: string }>,
  extra: Partial<TdxTcbInfo> = {},
): TdxTcbInfo {
  return {
    id: 'TDX',
    version: 3,
    issueDate: '2024-01-01T00:00:00Z',
    nextUpdate: '2024-02-01T00:00:00Z',
    fmspc: '00a06d080000',
    pceId: '0000',
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tcbLevels: levels.map((l) => ({
      tcb: { sgxtcbcomponents: comps(l.sgx), pcesvn: l.pce, tdxtcbcomponents: comps(l.tdx) },
      tcbDate: '2024-01-01T00:00:00Z',
      tcbStatus: l.status,
    })),
    ...extra,
  };
}

const zero48 = Buffer.alloc(48);
const zero8 = Buffer.alloc(8);

describe('TDX TCB level matching', () => {
  const levels = [
    { sgx: sixteen([5, 5]), pce: 13, tdx: sixteen([3, 0, 5]), status: 'UpToDate' },
    { sgx: sixteen([3, 3]), pce: 11, tdx: sixteen([2, 0, 3]), status: 'OutOfDate' },
    { sgx: sixteen([1, 1]), pce: 5, tdx: sixteen([0]), status: 'Revoked' },
  ];

  it('takes the first level the platform meets', () => {
    const svn = Buffer.from(sixteen([3, 0, 5]));
    expect(
      evaluateTdxTcb(info(levels), { sgxTcbComponents: sixteen([5, 5]), pceSvn: 13 }, svn, zero48, zero8).status,
    ).toBe('UpToDate');
    expect(
      evaluateTdxTcb(info(levels), { sgxTcbComponents: sixteen([4, 5]), pceSvn: 13 }, svn, zero48, zero8).status,
    ).toBe('OutOfDate');
    expect(
      evaluateTdxTcb(info(levels), { sgxTcbComponents: sixteen([5, 5]), pceSvn: 12 }, svn, zero48, zero8).status,
    ).toBe('OutOfDate');
    expect(
      evaluateTdxTcb(info(levels), { sgxTcbComponents: sixteen([2, 2]), pceSvn: 13 }, svn, zero48, zero8).status,
    ).toBe('Revoked');
    const none = evaluateTdxTcb(info(levels), { sgxTcbComponents: sixteen([0]), pceSvn: 13 }, svn, zero48, zero8);
    expect(none.status).toBeUndefined();
    expect(none.problems[0]).toContain('no TCB level matched');
  });

  it('compares tdxtcbcomponents with tee_tcb_svn, skipping bytes 0-1 for TDX 1.5 modules and using the module identity', () => {
    const moduleInfo = info(levels, {
      tdxModuleIdentities: [
        {
          id: 'TDX_01',
          mrsigner: '00'.repeat(48),
          attributes: '0000000000000000',
          attributesMask: 'FFFFFFFFFFFFFFFF',
          tcbLevels: [
            { tcb: { isvsvn: 4 }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
            { tcb: { isvsvn: 2 }, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'OutOfDate' },
          ],
        },
      ],
    });
    // tee_tcb_svn[0]=2 (< level 3) but [1]=1 (major version): bytes 0-1 are skipped for the platform level.
    const svn = Buffer.from(sixteen([2, 1, 5]));
    const ev = evaluateTdxTcb(moduleInfo, { sgxTcbComponents: sixteen([5, 5]), pceSvn: 13 }, svn, zero48, zero8);
    expect(ev.status).toBe('UpToDate');
    expect(ev.moduleId).toBe('TDX_01');
    expect(ev.moduleStatus).toBe('OutOfDate');
    expect(ev.problems).toEqual([]);
    const wrongSigner = evaluateTdxTcb(
      moduleInfo,
      { sgxTcbComponents: sixteen([5, 5]), pceSvn: 13 },
      svn,
      Buffer.alloc(48, 1),
      zero8,
    );
    expect(wrongSigner.problems).toContain('mrsigner_seam does not match module identity TDX_01');
    const missing = evaluateTdxTcb(
      moduleInfo,
      { sgxTcbComponents: sixteen([5, 5]), pceSvn: 13 },
      Buffer.from(sixteen([2, 3, 5])),
      zero48,
      zero8,
    );
    expect(missing.problems).toContain('tcbInfo has no TDX module identity TDX_03');
    // Without a module major version, byte 0 counts: svn 2 < 3 drops to the OutOfDate level.
    expect(
      evaluateTdxTcb(
        info(levels),
        { sgxTcbComponents: sixteen([5, 5]), pceSvn: 13 },
        Buffer.from(sixteen([2, 0, 5])),
        zero48,
        zero8,
      ).status,
    ).toBe('OutOfDate');
  });

  it('maps the QE isvsvn to the QE identity levels and checks mrsigner, prodid and masked attributes', () => {
    const id = parseSignedCollateral<QeIdentity>(
      vectorText('tdx/sample_qeIdentity_response'),
      'enclaveIdentity',
      'qe',
    ).value;
    const qe = {
      mrSigner: Buffer.from(id.mrsigner, 'hex'),
      isvProdId: 2,
      miscSelect: 0,
      attributes: Buffer.from('11000000000000000000000000000000', 'hex'),
      isvSvn: 4,
    };
    expect(evaluateQeIdentity(id, qe)).toEqual({ status: 'UpToDate', problems: [] });
    expect(evaluateQeIdentity(id, { ...qe, isvSvn: 3 }).problems[0]).toContain(
      'isvsvn 3 is below every QE identity TCB level',
    );
    const attrs = Buffer.from(qe.attributes);
    attrs[0] = 0x13; // bit 1 is under the mask (FB…): mismatch
    expect(evaluateQeIdentity(id, { ...qe, attributes: attrs }).problems).toContain(
      'QE attributes do not match the identity under its mask',
    );
    attrs[0] = 0x15; // bit 2 is masked out: still a match
    expect(evaluateQeIdentity(id, { ...qe, attributes: attrs }).problems).toEqual([]);
  });
});

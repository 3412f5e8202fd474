/**
 * Turin v5 reports and the VLEK path have no public vectors, so this test builds a private AMD-shaped PKI with the
 * openssl CLI (RSA-PSS ARK/ASK/ASVK, P-384 VCEK/VLEK with the AMD TCB and hwID extensions), signs reports with the
 * VEK keys, and verifies them with that private ARK pinned through `pinnedArkSha256`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeSnpTcb, kdsVcekUrl, verifySnp, type SnpTcb } from '../../../../attestation/verifier/index.js';

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!haveOpenssl) console.warn('snp-synthetic.test.ts: skipped, the openssl CLI is missing');

let dir = '';
const CHIP_ID = Buffer.alloc(64);
for (let i = 0; i < 64; i++) CHIP_ID[i] = (i * 7 + 3) & 0xff;
const TCB: SnpTcb = { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 };

function ossl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const PSS = ['-sha384', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:48'];

function ca(name: string, cn: string, issuer?: string): void {
  ossl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`);
  if (!issuer) {
    ossl(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '3650',
      ...PSS,
      '-out',
      `${name}.pem`,
    );
    return;
  }
  ossl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
  ossl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-set_serial',
    '2',
    '-days',
    '3650',
    ...PSS,
    '-out',
    `${name}.pem`,
  );
}

function vek(name: string, cn: string, issuer: string, tcb: SnpTcb, hwId?: Buffer): void {
  ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', `${name}.key`);
  ossl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
  const ext = [
    '[v]',
    '1.3.6.1.4.1.3704.1.2 = ASN1:IA5STRING:Turin-B0',
    `1.3.6.1.4.1.3704.1.3.1 = ASN1:INTEGER:${tcb.bootloader}`,
    `1.3.6.1.4.1.3704.1.3.2 = ASN1:INTEGER:${tcb.tee}`,
    `1.3.6.1.4.1.3704.1.3.3 = ASN1:INTEGER:${tcb.snp}`,
    `1.3.6.1.4.1.3704.1.3.8 = ASN1:INTEGER:${tcb.microcode}`,
    `1.3.6.1.4.1.3704.1.3.9 = ASN1:INTEGER:${tcb.fmc}`,
    ...(hwId ? [`1.3.6.1.4.1.3704.1.4 = ASN1:FORMAT:HEX,OCTETSTRING:${hwId.toString('hex')}`] : []),
  ].join('\n');
  writeFileSync(path.join(dir, `${name}.cnf`), `${ext}\n`);
  ossl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-set_serial',
    '3',
    '-days',
    '3650',
    ...PSS,
    '-extfile',
    `${name}.cnf`,
    '-extensions',
    'v',
    '-out',
    `${name}.pem`,
  );
}

/** A v5 Turin report (CPUID family 0x1A model 0x02) signed by the given VEK key. */
function turinReport(keyFile: string, signingKey: 0 | 1, tcb: SnpTcb, over: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(0x4a0);
  b.writeUInt32LE(5, 0x000);
  b.writeBigUInt64LE(0x30000n, 0x008);
  b.writeUInt32LE(0, 0x030);
  b.writeUInt32LE(1, 0x034);
  encodeSnpTcb(tcb, 'Turin').copy(b, 0x038);
  b.writeUInt32LE(signingKey << 2, 0x048);
  b.fill(0xab, 0x050, 0x090);
  encodeSnpTcb(tcb, 'Turin').copy(b, 0x180);
  b[0x188] = 0x1a;
  b[0x189] = 0x02;
  b[0x18a] = 0x00;
  if (signingKey === 0) CHIP_ID.copy(b, 0x1a0);
  encodeSnpTcb(tcb, 'Turin').copy(b, 0x1e0);
  encodeSnpTcb(tcb, 'Turin').copy(b, 0x1f0);
  b.writeBigUInt64LE(0x3n, 0x1f8);
  b.writeBigUInt64LE(0x7n, 0x200);
  over(b);
  const key = createPrivateKey(readFileSync(path.join(dir, keyFile)));
  const sig = sign('sha384', b.subarray(0, 0x2a0), { key, dsaEncoding: 'ieee-p1363' });
  Buffer.from(sig.subarray(0, 48)).reverse().copy(b, 0x2a0);
  Buffer.from(sig.subarray(48)).reverse().copy(b, 0x2e8);
  return b;
}

describe.skipIf(!haveOpenssl)('SNP v5 Turin and VLEK with a private AMD-shaped PKI (needs openssl)', () => {
  let chain = '';
  let pinned = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ccgpu-snp-'));
    ca('ark', 'ARK-Turin');
    ca('ask', 'SEV-Turin', 'ark');
    ca('asvk', 'SEV-VLEK-Turin', 'ark');
    vek('vlek', 'SEV-VLEK', 'asvk', TCB);
    vek('vcek', 'SEV-VCEK', 'ask', TCB, CHIP_ID);
    chain = ['ask', 'ark', 'asvk'].map((n) => readFileSync(path.join(dir, `${n}.pem`), 'utf8')).join('');
    pinned = new X509Certificate(readFileSync(path.join(dir, 'ark.pem'))).fingerprint256;
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const pem = (n: string): Buffer => readFileSync(path.join(dir, `${n}.pem`));

  it('verifies a VLEK-signed v5 Turin report through the ASVK, with the Turin TCB layout', async () => {
    const r = await verifySnp(
      { report: turinReport('vlek.key', 1, TCB) },
      { vek: pem('vlek'), amdCertChain: chain, pinnedArkSha256: { Turin: pinned } },
    );
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.claims).toMatchObject({
      version: 5,
      generation: 'Turin',
      signing_key: 'vlek',
      reported_tcb_fmc: 1,
      reported_tcb_bootloader: 2,
      reported_tcb_snp: 4,
      product_name: 'Turin-B0',
    });
    expect(r.checks.find((c) => c.name === 'vek_signed_by_ask')!.reason).toBe('VLEK signed by ASVK');
    expect(r.checks.some((c) => c.name === 'hwid')).toBe(false); // VLEKs carry no hwID
  });

  it('trusts only the pinned AMD roots by default', async () => {
    const r = await verifySnp({ report: turinReport('vlek.key', 1, TCB) }, { vek: pem('vlek'), amdCertChain: chain });
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.name === 'ark_pinned')!.reason).toMatch(/is not the pinned 1f084161/);
  });

  it('verifies a VCEK-signed Turin report; hwID in the OCTET STRING form matches chip_id', async () => {
    const r = await verifySnp(
      { report: turinReport('vcek.key', 0, TCB) },
      { vek: pem('vcek'), amdCertChain: chain, pinnedArkSha256: { Turin: pinned } },
    );
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.checks.find((c) => c.name === 'hwid')!.ok).toBe(true);
    expect(kdsVcekUrl('Turin', CHIP_ID, TCB)).toBe(
      `https://kdsintf.amd.com/vcek/v1/Turin/${CHIP_ID.subarray(0, 8).toString('hex')}?fmcSPL=01&blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=05`,
    );
  });

  it('catches a signed report whose TCB (fmc) differs from the VEK, a VCEK for a VLEK report, vmpl 1 and a masked chip', async () => {
    const fmc = await verifySnp(
      { report: turinReport('vlek.key', 1, { ...TCB, fmc: 2 }) },
      { vek: pem('vlek'), amdCertChain: chain, pinnedArkSha256: { Turin: pinned } },
    );
    expect(fmc.checks.find((c) => c.name === 'signature')!.ok).toBe(true);
    expect(fmc.checks.find((c) => c.name === 'vek_tcb')).toMatchObject({
      ok: false,
      reason: 'fmcSPL 1 != reported_tcb.fmc 2',
    });
    const wrongKey = await verifySnp(
      { report: turinReport('vlek.key', 1, TCB) },
      { vek: pem('vcek'), amdCertChain: chain, pinnedArkSha256: { Turin: pinned } },
    );
    expect(wrongKey.checks.find((c) => c.name === 'signature')!.ok).toBe(false);
    expect(wrongKey.checks.find((c) => c.name === 'vek_signed_by_ask')!.ok).toBe(false); // a VCEK is not issued by the ASVK
    const vmpl = await verifySnp(
      { report: turinReport('vlek.key', 1, TCB, (b) => b.writeUInt32LE(1, 0x030)) },
      { vek: pem('vlek'), amdCertChain: chain, pinnedArkSha256: { Turin: pinned } },
    );
    expect(vmpl.checks.find((c) => c.name === 'signature')!.ok).toBe(true);
    expect(vmpl.checks.find((c) => c.name === 'vmpl')).toMatchObject({ ok: false, reason: 'vmpl = 1, expected 0' });
    const masked = await verifySnp(
      {
        report: turinReport('vcek.key', 0, TCB, (b) => {
          b.fill(0, 0x1a0, 0x1e0);
          b.writeUInt32LE(2, 0x048);
        }),
      },
      { vek: pem('vcek'), amdCertChain: chain, pinnedArkSha256: { Turin: pinned } },
    );
    expect(masked.checks.find((c) => c.name === 'hwid')!.reason).toContain('MASK_CHIP_ID is set');
    expect(masked.ok).toBe(false);
  });
});

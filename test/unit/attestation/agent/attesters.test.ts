/**
 * Guest attesters: configfs-tsm against a fake configfs tree with the kernel's semantics (outblob generated from
 * inblob, generation counter, provider), the ioctl fallback's argument marshalling (TS and the native addon), NVIDIA
 * with a fake NVML binding, attester detection, the initdata binding check (native NVML: nvml-native.test.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildSnpReportReq,
  checkInitdataBinding,
  describeExitinfo2,
  detectAttester,
  guidBytes,
  NvidiaAttester,
  SampleAttester,
  SNP_CERT_GUIDS,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  SnpAttester,
  TDX_CMD_GET_REPORT0,
  TdxAttester,
  tsmGetReport,
  type ConfigfsOps,
  type GuestDeviceIoctl,
  type NvmlBinding,
} from '../../../../attestation/agent/index.js';
import { initdataHardwareBinding } from '../../../../attestation/initdata/index.js';
import { guestDeviceIoctl, loadTeeGuestNvml, nativeAvailable } from '../../../../native/index.js';

const ROOT = '/sys/kernel/config/tsm/report';

/** An in-memory configfs-tsm: report entries appear on mkdir; outblob is produced from inblob by `make`. */
class FakeTsm implements ConfigfsOps {
  entries = new Map<string, { files: Map<string, Buffer>; generation: number }>();
  removed: string[] = [];
  writes: Array<[string, string]> = [];
  /** Extra writes by "another process" to simulate a race. */
  raceOnRead = false;
  constructor(
    private readonly provider: string,
    private readonly make: (inblob: Buffer) => Buffer,
    private readonly auxblob?: Buffer,
    private readonly present = true,
  ) {}
  private entry(p: string): { name: string; file: string } {
    const rel = path.relative(ROOT, p);
    const [name, file] = rel.split('/');
    if (!name || rel.startsWith('..')) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
    return { name, file: file ?? '' };
  }
  async access(p: string): Promise<void> {
    if (!this.present || p !== ROOT) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
  }
  async mkdir(p: string): Promise<void> {
    if (!this.present) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
    const { name } = this.entry(p);
    if (this.entries.has(name)) throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
    this.entries.set(name, { files: new Map([['provider', Buffer.from(this.provider + '\n')]]), generation: 0 });
  }
  async rmdir(p: string): Promise<void> {
    const { name } = this.entry(p);
    this.entries.delete(name);
    this.removed.push(name);
  }
  async writeFile(p: string, data: Buffer | string): Promise<void> {
    const { name, file } = this.entry(p);
    const e = this.entries.get(name)!;
    if (!['inblob', 'privlevel'].includes(file)) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    e.files.set(file, Buffer.from(data));
    e.generation++;
    this.writes.push([file, Buffer.from(data).toString('hex')]);
  }
  async readFile(p: string): Promise<Buffer> {
    const { name, file } = this.entry(p);
    const e = this.entries.get(name);
    if (!e) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    if (file === 'outblob') {
      if (this.raceOnRead) e.generation++;
      return this.make(e.files.get('inblob') ?? Buffer.alloc(64));
    }
    if (file === 'auxblob') {
      if (!this.auxblob) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return this.auxblob;
    }
    if (file === 'generation') return Buffer.from(`${e.generation}\n`);
    const v = e.files.get(file);
    if (!v) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return v;
  }
}

function fakeSnpReport(inblob: Buffer, hostData: Buffer = Buffer.alloc(32)): Buffer {
  const r = Buffer.alloc(0x4a0);
  r.writeUInt32LE(3, 0);
  inblob.copy(r, 0x50);
  hostData.copy(r, 0xc0);
  return r;
}
function fakeTdxQuote(version: 4 | 5, inblob: Buffer, mrConfigId: Buffer): Buffer {
  const q = Buffer.alloc(version === 4 ? 48 + 584 + 4 : 54 + 648 + 4);
  q.writeUInt16LE(version, 0);
  q.writeUInt16LE(2, 2);
  q.writeUInt32LE(0x81, 4);
  const body = version === 4 ? 48 : 54;
  mrConfigId.copy(q, body + 184);
  inblob.copy(q, body + 520);
  return q;
}
function certTable(entries: Array<[string, Buffer]>): Buffer {
  const head = Buffer.alloc(24 * (entries.length + 1));
  let off = head.length;
  const bodies: Buffer[] = [];
  entries.forEach(([guid, data], i) => {
    guidBytes(guid).copy(head, i * 24);
    head.writeUInt32LE(off, i * 24 + 16);
    head.writeUInt32LE(data.length, i * 24 + 20);
    off += data.length;
    bodies.push(data);
  });
  return Buffer.concat([head, ...bodies]);
}

const digest48 = Buffer.from('d20490d30e5f16cb'.repeat(6), 'hex');

describe('configfs-tsm attesters (fake configfs tree)', () => {
  it('SNP: 64-byte inblob = digest + zero padding, report and certificate table, entry removed', async () => {
    const vcekGuid = Object.keys(SNP_CERT_GUIDS).find((g) => SNP_CERT_GUIDS[g] === 'VCEK')!;
    const fake = new FakeTsm('sev_guest', (i) => fakeSnpReport(i), certTable([[vcekGuid, Buffer.from('DER-VCEK')]]));
    const a = new SnpAttester({ ops: fake, vmpl: 0 });
    const ev = (await a.getEvidence(digest48)) as {
      attestation_report: string;
      cert_chain: Array<{ cert_type: string; data: number[] }>;
    };
    const report = Buffer.from(ev.attestation_report, 'base64');
    expect(report.length).toBe(0x4a0);
    expect(report.subarray(0x50, 0x80)).toEqual(digest48);
    expect(report.subarray(0x80, 0x90)).toEqual(Buffer.alloc(16));
    expect(ev.cert_chain).toEqual([{ cert_type: 'VCEK', data: [...Buffer.from('DER-VCEK')] }]);
    expect(fake.writes.map(([f]) => f)).toEqual(['privlevel', 'inblob']);
    expect(fake.writes[0]![1]).toBe(Buffer.from('0').toString('hex'));
    expect(fake.entries.size).toBe(0);
    expect(fake.removed).toHaveLength(1);
  });

  it('SNP: wrong provider, a racing writer, oversized report data and an absent configfs are clear errors', async () => {
    await expect(
      new SnpAttester({ ops: new FakeTsm('tdx_guest', fakeSnpReport) }).getEvidence(digest48),
    ).rejects.toThrow(/provider is "tdx_guest", expected "sev_guest"/);
    const racy = new FakeTsm('sev_guest', fakeSnpReport);
    racy.raceOnRead = true;
    await expect(new SnpAttester({ ops: racy }).getEvidence(digest48)).rejects.toThrow(
      /generation is 2, expected 1: another writer raced/,
    );
    expect(racy.entries.size).toBe(0);
    await expect(
      new SnpAttester({ ops: new FakeTsm('sev_guest', fakeSnpReport) }).getEvidence(Buffer.alloc(65)),
    ).rejects.toThrow(/65 bytes, more than the 64-byte field/);
    const absent = new FakeTsm('sev_guest', fakeSnpReport, undefined, false);
    await expect(new SnpAttester({ ops: absent }).getEvidence(digest48)).rejects.toThrow(
      /neither configfs-tsm nor the \/dev\/sev-guest ioctl/,
    );
    await expect(tsmGetReport('snp', 'sev_guest', Buffer.alloc(64), { ops: absent })).rejects.toThrow(
      /configfs-tsm is not available/,
    );
    // a report that does not carry the requested data is refused
    const liar = new FakeTsm('sev_guest', () => fakeSnpReport(Buffer.alloc(64, 7)));
    await expect(new SnpAttester({ ops: liar }).getEvidence(digest48)).rejects.toThrow(
      /does not carry the requested report_data/,
    );
  });

  it('SNP host_data and TDX mr_config_id (v4 and v5 quotes) check the initdata binding', async () => {
    const toml = Buffer.from('version = "0.1.0"\nalgorithm = "sha384"\n[data]\n');
    const { createHash } = await import('node:crypto');
    const d = createHash('sha384').update(toml).digest();
    const snp = new SnpAttester({
      ops: new FakeTsm('sev_guest', (i) => fakeSnpReport(i, initdataHardwareBinding(d, 'snp'))),
    });
    await expect(checkInitdataBinding(snp, d)).resolves.toBeUndefined();
    const other = createHash('sha384').update('x').digest();
    await expect(checkInitdataBinding(snp, other)).rejects.toThrow(/initdata digest mismatch: host_data is/);
    for (const v of [4, 5] as const) {
      const tdx = new TdxAttester({
        ops: new FakeTsm('tdx_guest', (i) => fakeTdxQuote(v, i, d)),
        ccelPath: '/nonexistent/CCEL',
      });
      expect(await tdx.mrConfigId()).toEqual(d);
      await expect(checkInitdataBinding(tdx, d)).resolves.toBeUndefined();
      await expect(checkInitdataBinding(tdx, other)).rejects.toThrow(/mr_config_id/);
      const ev = (await tdx.getEvidence(digest48)) as { quote: string; cc_eventlog: string | null };
      expect(ev.cc_eventlog).toBeNull();
      const q = Buffer.from(ev.quote, 'base64');
      expect(q.subarray((v === 4 ? 48 : 54) + 520, (v === 4 ? 48 : 54) + 568)).toEqual(digest48);
    }
    await expect(checkInitdataBinding(new SampleAttester() as never, d)).rejects.toThrow(
      /cannot check the initdata binding/,
    );
  });
});

describe('ioctl fallback (argument marshalling)', () => {
  it('request numbers are the kernel _IOWR values', () => {
    expect(SNP_GET_REPORT).toBe(0xc0205300);
    expect(SNP_GET_EXT_REPORT).toBe(0xc0205302);
    expect(TDX_CMD_GET_REPORT0).toBe(0xc4405401);
  });

  it('snp_report_req layout, MSG_REPORT_RSP decoding and exitinfo2 errors through a recording device', async () => {
    const userData = Buffer.alloc(64);
    digest48.copy(userData);
    const req = buildSnpReportReq(userData, 2);
    expect(req.length).toBe(96);
    expect(req.subarray(0, 64)).toEqual(userData);
    expect(req.readUInt32LE(64)).toBe(2);
    expect(req.subarray(68)).toEqual(Buffer.alloc(28));
    expect(() => buildSnpReportReq(userData, 4)).toThrow(/vmpl must be 0..3/);

    const calls: Array<{ device: string; v: number; req: Buffer }> = [];
    const io: GuestDeviceIoctl = {
      async snpGetReport(device, v, r, resp) {
        calls.push({ device, v, req: Buffer.from(r) });
        resp.writeUInt32LE(0, 0);
        resp.writeUInt32LE(0x4a0, 4);
        fakeSnpReport(Buffer.from(r.subarray(0, 64))).copy(resp, 0x20);
        return 0n;
      },
      async tdxGetReport0() {
        throw Object.assign(new Error('ioctl ENOTTY'), { code: 'ENOTTY', errno: -25 });
      },
    };
    const a = new SnpAttester({ ops: new FakeTsm('sev_guest', fakeSnpReport, undefined, false), ioctl: io, vmpl: 1 });
    const { report, source } = await a.getReport(digest48);
    expect(source).toBe('ioctl');
    expect(report.subarray(0x50, 0x80)).toEqual(digest48);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.device).toBe('/dev/sev-guest');
    expect(calls[0]!.v).toBe(1);
    expect(calls[0]!.req.readUInt32LE(64)).toBe(1);

    const failing: GuestDeviceIoctl = { ...io, snpGetReport: async () => (1n << 32n) | 0x16n };
    await expect(
      new SnpAttester({ ops: new FakeTsm('x', fakeSnpReport, undefined, false), ioctl: failing }).getEvidence(digest48),
    ).rejects.toThrow(/firmware error 0x16 \(invalid parameters\), VMM error 1 \(certificate buffer too small\)/);
    expect(describeExitinfo2(0n)).toBe('no error code');
    const tdx = new TdxAttester({ ops: new FakeTsm('x', fakeSnpReport, undefined, false), ioctl: io });
    await expect(tdx.mrConfigId()).rejects.toThrow(/TDX_CMD_GET_REPORT0 on \/dev\/tdx_guest failed: ioctl ENOTTY/);
    await expect(tdx.getEvidence(digest48)).rejects.toThrow(/configfs-tsm is not available.*only a local TDREPORT/);
  });

  const haveNative = nativeAvailable();
  if (!haveNative)
    console.warn('skipping native tee-guest tests: the native addon is not built (npm run build:native)');

  it.skipIf(!haveNative)('native: request numbers and struct layout agree with the TS ABI', () => {
    const n = loadTeeGuestNvml();
    const c = n.teeGuestConstants;
    expect(c.SNP_GET_REPORT).toBe(SNP_GET_REPORT);
    expect(c.TDX_CMD_GET_REPORT0).toBe(TDX_CMD_GET_REPORT0);
    expect([
      c.SNP_GUEST_REQUEST_IOCTL_SIZE,
      c.SNP_REPORT_REQ_SIZE,
      c.SNP_REPORT_RESP_SIZE,
      c.TDX_REPORT_REQ_SIZE,
    ]).toEqual([32, 96, 4000, 1088]);
    if (!c.checkedAgainstSevGuestHeader)
      console.warn('linux/sev-guest.h was absent at build time: SNP constants not cross-checked');
    const req = Buffer.alloc(96);
    const resp = Buffer.alloc(4000);
    const m = n.snpMarshalRequest(1, req, resp);
    expect(m.arg.length).toBe(32);
    expect(m.arg[0]).toBe(1);
    expect(m.arg.subarray(1, 8)).toEqual(Buffer.alloc(7));
    expect(m.arg.readBigUInt64LE(8)).toBe(m.reqAddress);
    expect(m.arg.readBigUInt64LE(16)).toBe(m.respAddress);
    expect(m.arg.readBigUInt64LE(24)).toBe(0n);
    expect(m.reqAddress).not.toBe(0n);
    expect(() => n.snpMarshalRequest(1, Buffer.alloc(95), resp)).toThrow(/'req' must be 96 bytes, got 95/);
    expect(() => n.snpMarshalRequest(0, req, resp)).toThrow(/msgVersion must be 1..255/);
    expect(() => n.tdxGetReport0('/dev/null', Buffer.alloc(10))).toThrow(/'arg' must be 1088 bytes/);
  });

  it.skipIf(!haveNative)(
    'native: absent device and a device without the ioctl give clear attester errors',
    async () => {
      const missing = new SnpAttester({
        ops: new FakeTsm('x', fakeSnpReport, undefined, false),
        ioctl: guestDeviceIoctl,
        device: '/nonexistent/sev-guest',
      });
      await expect(missing.getEvidence(digest48)).rejects.toThrow(
        /\/nonexistent\/sev-guest does not exist \(no sev-guest driver in this guest\)/,
      );
      const notSnp = new SnpAttester({
        ops: new FakeTsm('x', fakeSnpReport, undefined, false),
        ioctl: guestDeviceIoctl,
        device: '/dev/null',
      });
      await expect(notSnp.getEvidence(digest48)).rejects.toThrow(/SNP_GET_REPORT on \/dev\/null failed: .*ENOTTY/);
      const notTdx = new TdxAttester({
        ops: new FakeTsm('x', fakeSnpReport, undefined, false),
        ioctl: guestDeviceIoctl,
        device: '/dev/null',
      });
      await expect(notTdx.mrConfigId()).rejects.toThrow(/TDX_CMD_GET_REPORT0 on \/dev\/null failed: .*ENOTTY/);
      const real = existsSync('/dev/sev-guest') || existsSync('/dev/tdx_guest');
      if (real) console.warn('a TEE guest device exists here; the hardware path is exercised by the e2e tests only');
    },
  );
});

describe('NVIDIA attester', () => {
  it('uses the first 32 bytes of the device digest as the SPDM nonce; evidence shape', async () => {
    const seen: Buffer[] = [];
    const fake: NvmlBinding = {
      deviceCount: async () => 2,
      uuid: async (i) => `GPU-${i}`,
      architecture: async () => 'hopper',
      attestationReport: async (_i, nonce) => (seen.push(nonce), Buffer.concat([Buffer.from([0x11, 0xe0]), nonce])),
      certificateChain: async () => Buffer.from('-----BEGIN CERTIFICATE-----\n'),
    };
    const ev = (await new NvidiaAttester(() => fake).getEvidence(digest48)) as {
      device_evidence_list: Array<Record<string, string>>;
    };
    expect(seen).toEqual([digest48.subarray(0, 32), digest48.subarray(0, 32)]);
    expect(ev.device_evidence_list.map((d) => [d.arch, d.uuid])).toEqual([
      ['HOPPER', 'GPU-0'],
      ['HOPPER', 'GPU-1'],
    ]);
    expect(Buffer.from(ev.device_evidence_list[0]!.evidence!, 'base64').subarray(2)).toEqual(digest48.subarray(0, 32));
    await expect(new NvidiaAttester(() => fake).getEvidence(Buffer.alloc(31))).rejects.toThrow(/need at least 32/);
    await expect(
      new NvidiaAttester(() => ({ ...fake, deviceCount: async () => 0 })).getEvidence(digest48),
    ).rejects.toThrow(/no GPU/);
  });
});

describe('attester detection', () => {
  const noDevices = async () => false;
  it('picks SNP / TDX from the configfs-tsm provider or the device node; sample only when allowed', async () => {
    expect((await detectAttester({ ops: new FakeTsm('sev_guest', fakeSnpReport), exists: noDevices })).tee).toBe('snp');
    expect((await detectAttester({ ops: new FakeTsm('tdx_guest', fakeSnpReport), exists: noDevices })).tee).toBe('tdx');
    const absent = new FakeTsm('x', fakeSnpReport, undefined, false);
    expect((await detectAttester({ ops: absent, exists: async (p) => p === '/dev/tdx_guest' })).tee).toBe('tdx');
    expect((await detectAttester({ ops: absent, exists: async (p) => p === '/dev/sev-guest' })).tee).toBe('snp');
    await expect(detectAttester({ ops: absent, exists: noDevices })).rejects.toThrow(
      /no TEE found: .*must be allowed explicitly/,
    );
    const sample = await detectAttester({ ops: absent, exists: noDevices, allowSample: true });
    expect(sample.tee).toBe('sample');
    await expect(
      detectAttester({ ops: new FakeTsm('arm_cca_guest', fakeSnpReport), exists: noDevices }),
    ).rejects.toThrow(/provider "arm_cca_guest" is not supported/);
    const probe = new FakeTsm('sev_guest', fakeSnpReport);
    await detectAttester({ ops: probe, exists: noDevices });
    expect(probe.entries.size).toBe(0); // the probe entry is removed
  });
});

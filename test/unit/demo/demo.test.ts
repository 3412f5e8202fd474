/**
 * `ccgpu demo`: the non-live steps run the real libraries on this machine (host check, fake HGX host → CDI → QEMU
 * line, policy generation + enforcement, KBS + guest client); the runner keeps going past failing steps and reports.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { generateVfioSpecs } from '../../../cdi/index.js';
import {
  formatCommandLine,
  forkyQemu,
  liveOutcome,
  runDemo,
  writeHgxHost,
  type DemoReport,
  type DemoStep,
} from '../../../src/demo/index.js';
import { run as runDemoCli } from '../../../src/cli/commands/demo.js';
import { hgxH100, writeHostTree } from '../../fixtures/sysfs/host-model.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgpu-demo-test-'));
  temps.push(d);
  return d;
}

async function demo(only: string[], steps?: DemoStep[]): Promise<{ report: DemoReport; text: string }> {
  let text = '';
  const report = await runDemo({ only, steps, write: (t) => (text += t) });
  return { report, text };
}

describe('demo steps on this machine (real libraries, no TEE, no GPU)', () => {
  it('(a) host check: runs `ccgpu check` for qemu-nvidia-gpu-snp and shows every check with its verdict', async () => {
    const { report, text } = await demo(['host-check']);
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]!.status).toBe('pass');
    expect(text).toMatch(/\| qemu-nvidia-gpu-snp \(.*configuration-qemu-nvidia-gpu-snp\.toml; flavour from option\)/);
    for (const check of [
      'cpu',
      'kvm',
      'snp',
      'iommu',
      'gpus',
      'iommufd',
      'vhost-vsock',
      'qemu',
      'kernel',
      'firmware',
    ]) {
      expect(text).toMatch(new RegExp(`\\| (ok|WARN|FAIL|skip) +${check}: `));
    }
    // this machine has no GPU: the report says so (if it ever runs on a ready host, it says "ready")
    expect(report.steps[0]!.summary).toMatch(/NOT READY, as expected without SEV-SNP\/GPUs|this host is ready/);
  });

  it('(b) fake HGX host → cdi generate → SNP command line with 12 VFIO devices (and QEMU 11.1 when present)', async () => {
    const { report, text } = await demo(['gpu-host']);
    const step = report.steps[0]!;
    expect(step.status, step.summary).toBe('pass');
    expect(text).toContain('nvidia.com-pgpu.yaml: 8 devices (nvidia.com/pgpu=0,');
    expect(text).toContain('nvidia.com-nvswitch.yaml: 4 devices (nvidia.com/nvswitch=8,');
    expect(text).toContain('host protection detected from the fake sysfs: snp');
    expect(text).toMatch(/\| {3}-object sev-snp-guest,id=snp,cbitpos=51,/);
    expect(text.match(/\| {3}-device vfio-pci,host=0000:[0-9a-f]{2}:00\.0,/g)).toHaveLength(12);
    expect(text).toMatch(/\| {3}-device vfio-pci,host=0000:08:00\.0,.*x-pci-device-id=0x22a3/); // an NVSwitch
    expect(text).toContain('12 vfio-pci devices on 12 cold-plug PCIe ports');
    const qemu = forkyQemu();
    if ('missing' in qemu) {
      console.warn(`demo test: QEMU 11.1 pass not exercised: ${qemu.missing}`);
      expect(step.summary).toContain('QEMU 11.1 parse skipped');
    } else {
      expect(step.summary).toMatch(/QEMU 11\.\d+\.\d+ accepts it$/);
      expect(text).toContain('only KVM is missing: every option and object was accepted');
      expect(text).toContain('0000:18:00.0 is missing only because this host has no GPU');
    }
  }, 60_000);

  it('(c) policy: generated offline for the sample pod; the agent allows the sandbox and denies the rest', async () => {
    const { report, text } = await demo(['policy']);
    expect(report.steps[0]!.status, report.steps[0]!.summary).toBe('pass');
    expect(report.steps[0]!.summary).toBe('policy generated offline; 1 request allowed, 4 denied as expected');
    expect(text).toContain('workload args ["/cuda-samples/vectorAdd"]');
    expect(text).toContain('ALLOWED  CreateSandboxRequest: CreateSandbox for the pod');
    expect(text).toContain(
      'DENIED   CreateSandboxRequest: CreateSandbox that loads a kernel module into the TEE guest',
    );
    expect(text).toContain('failed: count(input.kernel_modules) == 0');
    expect(text).toContain('DENIED   AllowRequestsFailingPolicy');
    expect(text).not.toContain('UNEXPECTED');
  });

  it('(d) attestation: resource and sealed secret after RCAR; the strict KBS refuses the sample TEE; no secret printed', async () => {
    const { report, text } = await demo(['attestation']);
    expect(report.steps[0]!.status, report.steps[0]!.summary).toBe('pass');
    expect(text).toMatch(/received 32 bytes sha256:[0-9a-f]{16}… = the value the owner stored/);
    expect(text).toContain('init_data claim matches the initdata digest');
    expect(text).toMatch(/CDH unsealed a signed sealed secret/);
    expect(text).toMatch(/refused as expected \(PolicyDeny: /);
    // the stored and unsealed fingerprints are the same value
    const fps = [...text.matchAll(/sha256:([0-9a-f]{16})…/g)].map((m) => m[1]);
    expect(new Set(fps).size).toBe(1);
  });

  it('(e) live: the placeholder reports itself as not available (a skip, not a failure)', async () => {
    const { report, text } = await demo(['live']);
    expect(report.ok).toBe(true);
    expect(report.steps[0]!.status).toMatch(/^(pass|skip)$/);
    if (report.steps[0]!.status === 'skip') expect(text).toContain('live containerd demo: not yet available');
  });
});

describe('demo runner', () => {
  const step = (id: string, run: DemoStep['run']): DemoStep => ({ id, title: `step ${id}`, run });
  const steps: DemoStep[] = [
    step('one', async ({ out }) => (out.say('doing one'), { status: 'pass', summary: 'one done' })),
    step('boom', async () => {
      throw new Error('kaput');
    }),
    step('bad', async () => ({ status: 'fail', summary: 'bad result' })),
    step('later', async ({ out, workDir }) => {
      out.show('tool line 1\ntool line 2\n');
      expect(fs.existsSync(workDir)).toBe(true);
      return { status: 'skip', summary: 'needs hardware' };
    }),
  ];

  it('a failing or crashing step does not stop the others; summary table; not ok', async () => {
    const { report, text } = await demo([], steps);
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['one', 'pass'],
      ['boom', 'fail'],
      ['bad', 'fail'],
      ['later', 'skip'],
    ]);
    expect(report.steps[1]!.summary).toBe('crashed: kaput');
    expect(report.ok).toBe(false);
    expect(text).toContain('[1/4] step one\n    doing one\n  => PASS: one done\n');
    expect(text).toContain('      | tool line 1\n      | tool line 2\n  => SKIP: needs hardware\n');
    expect(text).toMatch(/Summary\n {2}step +result +time +what happened\n {2}1\. one +PASS +\d+\.\ds +one done\n/);
    expect(text).toMatch(/ {2}2\. boom +FAIL +\d+\.\ds +crashed: kaput\n/);
    expect(text).toContain('demo FAILED: 1 passed, 2 failed, 1 skipped');
  });

  it('skips do not fail the demo; --only selects steps; unknown steps are refused', async () => {
    const { report, text } = await demo(['one', 'later'], steps);
    expect(report.ok).toBe(true);
    expect(text).toContain('demo OK: 1 passed, 0 failed, 1 skipped');
    await expect(demo(['nope'], steps)).rejects.toThrow(
      /unknown demo step\(s\) nope; the steps are one, boom, bad, later/,
    );
  });

  it('maps what runLiveDemo returns to a step outcome', () => {
    expect(liveOutcome(undefined)).toEqual({ status: 'skip', summary: 'not yet available' });
    expect(liveOutcome(true).status).toBe('pass');
    expect(liveOutcome(false).status).toBe('fail');
    expect(liveOutcome({ status: 'pass', summary: 'hello' })).toEqual({ status: 'pass', summary: 'hello' });
    expect(liveOutcome({ status: 'maybe' })).toEqual({
      status: 'fail',
      summary: 'runLiveDemo returned an unexpected value: {"status":"maybe"}',
    });
  });

  it('formats a command line as flag + value per line', () => {
    expect(formatCommandLine('qemu', ['-m', '8G', '-nodefaults', '-device', 'x,y', '--no-reboot'])).toBe(
      'qemu\n  -m 8G\n  -nodefaults\n  -device x,y\n  --no-reboot',
    );
  });
});

describe('the demo HGX host tree', () => {
  it('is the HGX H100 of the shared fake-host model with SNP on: the CDI generator sees the same devices', () => {
    const a = tempDir();
    const b = tempDir();
    const demoHost = writeHgxHost(a);
    writeHostTree(b, hgxH100({ snp: true }));
    const specsA = generateVfioSpecs({ root: a, env: {} });
    const specsB = generateVfioSpecs({ root: b, env: {} });
    expect(specsA.warnings).toEqual([]);
    expect(specsA.specs.map((s) => s.yaml)).toEqual(specsB.specs.map((s) => s.yaml));
    expect(demoHost.gpus).toHaveLength(8);
    expect(demoHost.statDevice('/dev/vfio/devices/vfio3')).toEqual({
      type: 'c',
      major: 509,
      minor: 3,
      fileMode: 0o666,
    });
    expect(() => demoHost.statDevice('/dev/vfio/devices/vfio99')).toThrow(/no such device node/);
  });
});

describe('`ccgpu demo` and `npm run demo`', () => {
  afterEach(() => vi.restoreAllMocks());

  it('--list names the five steps; an unknown --only is a usage error', async () => {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
    expect(await runDemoCli(['--list'])).toBe(0);
    expect(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    ).toEqual(['host-check', 'gpu-host', 'policy', 'attestation', 'live']);
    expect(await runDemoCli(['--only', 'policy,bogus'])).toBe(2);
    expect(err).toContain('unknown demo step(s) bogus');
  });

  const built = fs.existsSync(path.join(repoRoot, 'dist/src/cli/main.js'));
  if (!built) console.warn('demo test: dist/ not built (npm run build): the scripts/demo.mjs test is skipped');
  it.skipIf(!built)(
    'scripts/demo.mjs runs the built `ccgpu demo` and exits with its status',
    () => {
      const r = spawnSync(process.execPath, ['scripts/demo.mjs', '--only', 'policy'], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, CCGPU_DEMO_SKIP_BUILD: '1' },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('==> ccgpu demo');
      expect(r.stdout).toContain('demo OK: 1 passed, 0 failed, 0 skipped');
    },
    60_000,
  );
});

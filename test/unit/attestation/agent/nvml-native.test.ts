/**
 * The native NVML binding: an absent libnvidia-ml, a library without the NVML symbols, and a stand-in libnvidia-ml
 * compiled here from C (dlopen, symbol lookup, the nvmlConfComputeGpuAttestationReport / nvmlConfComputeGpuCertificate
 * struct layouts with the nonce in and the report and attestation chain out, error strings) with the NVIDIA
 * attester's evidence built from it. The stand-in part skips without a C compiler.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttesterError, NvidiaAttester } from '../../../../attestation/agent/index.js';
import { loadTeeGuestNvml, nativeAvailable, openNvml } from '../../../../native/index.js';

// Layouts as in nvml.h (CUDA 12.x). GPU 1 fails the report call with NVML_ERROR_NOT_SUPPORTED (3).
const FAKE_NVML_C = String.raw`
#include <string.h>
#include <stdio.h>
#include <unistd.h>
typedef struct { unsigned int certChainSize; unsigned int attestationCertChainSize;
  unsigned char certChain[0x1000]; unsigned char attestationCertChain[0x1400]; } cert_t;
typedef struct { unsigned int isCecAttestationReportPresent; unsigned int attestationReportSize;
  unsigned int cecAttestationReportSize; unsigned char nonce[0x20]; unsigned char attestationReport[0x2000];
  unsigned char cecAttestationReport[0x1000]; } report_t;
static int inited = 0;
int nvmlInit_v2(void) { inited = 1; return 0; }
int nvmlShutdown(void) { inited = 0; return 0; }
const char* nvmlErrorString(int rc) { return rc == 3 ? "Not Supported" : "Unknown Error"; }
int nvmlDeviceGetCount_v2(unsigned int* n) { *n = GPUS; return inited ? 0 : 1; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** d) { if (i >= 2) return 2; *d = (void*)(unsigned long)(i + 1); return 0; }
int nvmlDeviceGetUUID(void* d, char* buf, unsigned int len) { snprintf(buf, len, "GPU-fake-%lu", (unsigned long)d); return 0; }
int nvmlDeviceGetArchitecture(void* d, unsigned int* a) { (void)d; *a = 9; return 0; }
int nvmlDeviceGetConfComputeGpuAttestationReport(void* d, report_t* r) {
  if ((unsigned long)d == 2) return 3;
  if (r->nonce[0] == 0xee) usleep(300000); /* a slow GPU */
  r->attestationReportSize = 4 + 0x20;
  memcpy(r->attestationReport, "SPDM", 4);
  memcpy(r->attestationReport + 4, r->nonce, 0x20);
  r->isCecAttestationReportPresent = 0;
  return 0;
}
int nvmlDeviceGetConfComputeGpuCertificate(void* d, cert_t* c) {
  (void)d;
  const char* pem = "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n";
  c->certChainSize = 3; memcpy(c->certChain, "XYZ", 3);
  c->attestationCertChainSize = (unsigned int)strlen(pem); memcpy(c->attestationCertChain, pem, strlen(pem));
  return 0;
}
`;

const cc = ['/usr/bin/cc', '/usr/bin/gcc', '/usr/local/bin/cc'].find((p) => existsSync(p));
const haveNative = nativeAvailable();
if (!cc) console.warn('skipping the fake-NVML tests: no C compiler (cc) to build the stand-in libnvidia-ml');
if (!haveNative) console.warn('skipping the fake-NVML tests: the native addon is not built (npm run build:native)');

let dir: string;
const lib = (gpus: number): string => path.join(dir, `libfake-nvml-${gpus}.so`);
beforeAll(() => {
  if (!cc || !haveNative) return;
  dir = mkdtempSync(path.join(tmpdir(), 'fake-nvml-'));
  writeFileSync(path.join(dir, 'nvml.c'), FAKE_NVML_C);
  for (const gpus of [1, 2])
    execFileSync(cc, ['-shared', '-fPIC', `-DGPUS=${gpus}`, '-o', lib(gpus), path.join(dir, 'nvml.c')]);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('native NVML binding (stand-in libnvidia-ml)', () => {
  it.skipIf(!cc || !haveNative)(
    'marshals the nonce in and the report / attestation chain out; NVIDIA evidence from it',
    async () => {
      const nvml = openNvml(lib(1));
      try {
        expect(await nvml.deviceCount()).toBe(1);
        expect(await nvml.uuid(0)).toBe('GPU-fake-1');
        expect(await nvml.architecture(0)).toBe('HOPPER');
        const nonce = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
        const report = await nvml.attestationReport(0, nonce);
        expect(report).toEqual(Buffer.concat([Buffer.from('SPDM'), nonce]));
        expect((await nvml.certificateChain(0)).toString()).toMatch(/^-----BEGIN CERTIFICATE-----\nFAKE\n/);
        expect(() => openNvml(lib(2))).toThrow(/already loaded from .*libfake-nvml-1\.so; call nvmlClose/);

        const digest = Buffer.alloc(48, 0xab);
        const ev = (await new NvidiaAttester(() => nvml).getEvidence(digest)) as {
          device_evidence_list: Array<Record<string, string>>;
        };
        expect(ev.device_evidence_list).toHaveLength(1);
        expect(ev.device_evidence_list[0]).toMatchObject({ arch: 'HOPPER', uuid: 'GPU-fake-1' });
        expect(Buffer.from(ev.device_evidence_list[0]!.evidence!, 'base64').subarray(4)).toEqual(
          digest.subarray(0, 32),
        );
        await expect(nvml.attestationReport(0, Buffer.alloc(31))).rejects.toThrow(/32-byte Buffer/);
        await expect(nvml.uuid(5)).rejects.toThrow(/nvmlDeviceGetHandleByIndex_v2 failed/);
      } finally {
        nvml.close();
      }
    },
  );

  it.skipIf(!cc || !haveNative)(
    'a slow report call runs off the event loop; closing NVML meanwhile is refused',
    async () => {
      const nvml = openNvml(lib(1));
      try {
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        const slow = nvml.attestationReport(0, Buffer.alloc(32, 0xee));
        expect(() => nvml.close()).toThrow(/1 NVML call\(s\) still running/);
        const report = await slow;
        clearInterval(timer);
        expect(report.subarray(4)).toEqual(Buffer.alloc(32, 0xee));
        expect(ticks).toBeGreaterThan(10); // timers kept firing during the 300 ms call
      } finally {
        nvml.close();
      }
    },
  );

  it.skipIf(!cc || !haveNative)('an NVML error on one GPU names the call, the NVML text and the GPU', async () => {
    const nvml = openNvml(lib(2));
    try {
      await expect(nvml.attestationReport(1, Buffer.alloc(32))).rejects.toMatchObject({ code: 'ENVML', nvmlReturn: 3 });
      await expect(new NvidiaAttester(() => nvml).getEvidence(Buffer.alloc(48))).rejects.toThrow(
        /nvidia: GPU 1: nvmlDeviceGetConfComputeGpuAttestationReport failed: Not Supported \(3\)/,
      );
    } finally {
      nvml.close();
    }
  });

  const haveNvml = [
    '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1',
    '/usr/lib64/libnvidia-ml.so.1',
    '/usr/lib/libnvidia-ml.so.1',
  ].some((p) => existsSync(p));
  if (haveNvml) console.warn('libnvidia-ml.so.1 is installed here: skipping the absent-library test');

  it.skipIf(!haveNative || haveNvml)('native NVML: an absent libnvidia-ml is a clear error naming the library', () => {
    let err: unknown;
    try {
      openNvml();
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('ENVMLLOAD');
    expect((err as Error).message).toMatch(/cannot load libnvidia-ml\.so\.1/);
    expect(() => new NvidiaAttester(() => openNvml())).toThrow(AttesterError);
    expect(() => new NvidiaAttester(() => openNvml())).toThrow(
      /NVML \(libnvidia-ml\.so\.1\) is not available: cannot load libnvidia-ml\.so\.1.*install the NVIDIA driver/,
    );
    expect(() => loadTeeGuestNvml().nvmlDeviceCount()).toThrow(/NVML is not loaded/);
  });

  it.skipIf(!haveNative)('native NVML: a library without the NVML symbols is refused', () => {
    let err: unknown;
    try {
      openNvml('libc.so.6');
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('ENVMLSYM');
    expect((err as Error).message).toMatch(/libc\.so\.6 has no symbol nvmlInit_v2/);
  });
});

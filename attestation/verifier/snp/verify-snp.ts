/**
 * AMD SEV-SNP verification: report signature by the VCEK/VLEK (ECDSA P-384), the chain to the pinned ARK of the
 * report's generation, the VEK's TCB extensions against reported_tcb, hwID against chip_id, and the policy
 * (version, debug, VMPL, minimum TCB, measurement, host_data, report_data).
 */
import { createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { hex } from '../../evidence/byte-reader.js';
import {
  decodeSnpPolicy,
  decodeSnpTcb,
  parseSnpReport,
  SNP_SIGNED_SIZE,
  snpGenerationFromCpuid,
  type SnpGeneration,
  type SnpReport,
  type SnpTcb,
} from '../../evidence/snp-report.js';
import type { SnpCertEntry } from '../../evidence/snp-evidence.js';
import { loadCertificates, issuedByProblem, validityProblem, type CertInput } from '../certificates.js';
import { CheckList, guarded } from '../check-list.js';
import { regularize, shortHex } from '../report-data.js';
import type { CommonVerifyOptions, VerificationResult } from '../types.js';
import { generationOfCert, pickAmdRoots, PINNED_ARK_SHA256 } from './amd-roots.js';
import { kdsCertChainUrl, kdsVcekUrl } from './kds.js';
import { readVekExtensions } from './vek-extensions.js';

export interface SnpEvidenceInput {
  /** The raw 0x4A0-byte report. */
  report: Uint8Array;
  /** Certificates that came with the evidence (cert_chain / cert table). */
  certs?: SnpCertEntry[];
}

export interface SnpVerifyOptions extends CommonVerifyOptions {
  /** The ASK/ARK/ASVK bundle (PEM, as served by KDS `cert_chain` or trustee's `<gen>_ask_ark_asvk.pem`). */
  amdCertChain?: CertInput;
  /**
   * Replace the pinned AMD root fingerprints (SHA-256 hex) per generation. Only for private test roots: by default
   * only AMD's ARKs are trusted.
   */
  pinnedArkSha256?: Partial<Record<SnpGeneration, string>>;
  /** The VCEK/VLEK when it is not embedded in the evidence (DER or PEM). */
  vek?: CertInput;
  /** Called with the KDS URL when no VEK is embedded or given. */
  fetchVcek?: (url: string) => Promise<Uint8Array>;
  /** Called with the KDS `cert_chain` URL when the ARK/ASK are neither embedded nor given. */
  fetchAmdCertChain?: (url: string) => Promise<Uint8Array | string>;
  /** Expected host_data (the initdata digest); fitted to 32 bytes. */
  expectedHostData?: Uint8Array;
  /** Allowed launch measurements (48 bytes each). */
  expectedMeasurement?: Uint8Array | Uint8Array[];
  /** Allow a guest policy with DEBUG set. Default false. */
  allowDebug?: boolean;
  /** Required VMPL of the report. Default 0. */
  vmpl?: number;
  /** Lowest accepted report version. Default 3 (v2 reports carry no CPUID, so the generation is unproven). */
  minReportVersion?: number;
  /** Minimum reported_tcb per component. */
  minTcb?: Partial<SnpTcb>;
  minGuestSvn?: number;
  /** The expected generation; required to accept v2 reports whose VEK does not name one, and cross-checked otherwise. */
  generation?: SnpGeneration;
}

function tcbClaims(prefix: string, t: SnpTcb): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}_bootloader`]: t.bootloader,
    [`${prefix}_tee`]: t.tee,
    [`${prefix}_snp`]: t.snp,
    [`${prefix}_microcode`]: t.microcode,
  };
  if (t.fmc !== undefined) out[`${prefix}_fmc`] = t.fmc;
  return out;
}

/** Claims named as trustee's SNP verifier names them, plus a few more. */
export function snpClaims(r: SnpReport, generation: SnpGeneration | undefined): Record<string, unknown> {
  const p = decodeSnpPolicy(r.policy);
  const claims: Record<string, unknown> = {
    version: r.version,
    generation: generation ?? null,
    guest_svn: r.guestSvn,
    vmpl: r.vmpl,
    signing_key: r.signingKey,
    policy_abi_major: p.abiMajor,
    policy_abi_minor: p.abiMinor,
    policy_smt_allowed: p.smtAllowed,
    policy_migrate_ma: p.migrateMa,
    policy_debug_allowed: p.debugAllowed,
    policy_single_socket: p.singleSocket,
    platform_smt_enabled: (r.platformInfo & 1n) === 1n,
    platform_tsme_enabled: (r.platformInfo & 2n) === 2n,
    measurement: hex(r.measurement),
    report_data: hex(r.reportData),
    init_data: hex(r.hostData),
    host_data: hex(r.hostData),
    chip_id: hex(r.chipId),
    family_id: hex(r.familyId),
    image_id: hex(r.imageId),
    id_key_digest: hex(r.idKeyDigest),
    author_key_digest: hex(r.authorKeyDigest),
    report_id: hex(r.reportId),
  };
  if (generation) {
    Object.assign(claims, tcbClaims('reported_tcb', decodeSnpTcb(r.reportedTcbRaw, generation)));
    Object.assign(claims, tcbClaims('current_tcb', decodeSnpTcb(r.currentTcbRaw, generation)));
    Object.assign(claims, tcbClaims('committed_tcb', decodeSnpTcb(r.committedTcbRaw, generation)));
    Object.assign(claims, tcbClaims('launch_tcb', decodeSnpTcb(r.launchTcbRaw, generation)));
  }
  if (r.cpuid)
    Object.assign(claims, { cpuid_fam_id: r.cpuid.family, cpuid_mod_id: r.cpuid.model, cpuid_step: r.cpuid.stepping });
  if (r.version >= 3) {
    const v = r.currentVersion;
    claims.firmware_version = `${v.major}.${v.minor}.${v.build}`;
  }
  return claims;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Verify one SNP report. Never throws: malformed input becomes a failed `parse` check. */
export async function verifySnp(evidence: SnpEvidenceInput, opts: SnpVerifyOptions = {}): Promise<VerificationResult> {
  const now = opts.now ?? new Date();
  const checks = new CheckList(opts.logger);
  const report = checks.attempt('parse', () => parseSnpReport(evidence.report));
  if (!report) return checks.result('snp', {});
  return guarded(
    'snp',
    checks,
    () => snpClaims(report, undefined),
    () => verifyParsedSnp(report, evidence, checks, now, opts),
  );
}

async function verifyParsedSnp(
  report: SnpReport,
  evidence: SnpEvidenceInput,
  checks: CheckList,
  now: Date,
  opts: SnpVerifyOptions,
): Promise<VerificationResult> {
  checks.pass('parse', `SNP report version ${report.version}`);

  const minVersion = opts.minReportVersion ?? 3;
  checks.add(
    'report_version',
    report.version >= minVersion,
    report.version >= minVersion ? `version ${report.version}` : `report version ${report.version} < ${minVersion}`,
  );

  // Generation: CPUID (v3+), cross-checked against the caller's expectation; else the hint; else the VEK.
  let generation: SnpGeneration | undefined;
  if (report.cpuid) {
    generation = snpGenerationFromCpuid(report.cpuid.family, report.cpuid.model);
    if (!generation) {
      checks.fail(
        'generation',
        `CPUID family 0x${report.cpuid.family.toString(16)} model 0x${report.cpuid.model.toString(16)} is not a known SNP generation`,
      );
    } else if (opts.generation && opts.generation !== generation) {
      checks.fail('generation', `report CPUID says ${generation}, expected ${opts.generation}`);
    } else checks.pass('generation', `${generation} (from CPUID)`);
  } else if (opts.generation) {
    generation = opts.generation;
  }

  // Signing key selection.
  const keyKind = report.signingKey;
  if (keyKind !== 'vcek' && keyKind !== 'vlek') {
    checks.fail(
      'signing_key',
      `report key_info says signing key "${keyKind}"; only VCEK or VLEK signed reports can be verified`,
    );
  }
  const wantType = keyKind === 'vlek' ? 'VLEK' : 'VCEK';

  let vek: X509Certificate | undefined;
  let vekSource = '';
  const embedded = evidence.certs?.find((c) => c.type === wantType);
  if (embedded) {
    vek = checks.attempt('vek', () => loadCertificates(embedded.der, `embedded ${wantType}`)[0]);
    vekSource = 'evidence';
  } else if (opts.vek) {
    vek = checks.attempt('vek', () => loadCertificates(opts.vek!, wantType)[0]);
    vekSource = 'given';
  } else if (keyKind === 'vcek' && opts.fetchVcek && generation) {
    const url = kdsVcekUrl(generation, report.chipId, decodeSnpTcb(report.reportedTcbRaw, generation));
    try {
      vek = loadCertificates(await opts.fetchVcek(url), `VCEK from ${url}`)[0];
      vekSource = url;
    } catch (e) {
      checks.fail('vek', `fetching the VCEK from ${url} failed: ${(e as Error).message}`);
    }
  } else {
    const hint =
      keyKind === 'vcek' && generation
        ? `; fetch it from ${kdsVcekUrl(generation, report.chipId, decodeSnpTcb(report.reportedTcbRaw, generation))}`
        : '';
    checks.fail('vek', `no ${wantType} certificate: none embedded in the evidence and none given${hint}`);
  }
  if (vek) {
    checks.pass('vek', `${wantType} from ${vekSource}`);
    if (!generation) {
      generation = generationOfCert(vek);
      if (generation)
        checks.pass(
          'generation',
          `${generation} (from the ${wantType} issuer; the v${report.version} report has no CPUID)`,
        );
      else
        checks.fail(
          'generation',
          `the v${report.version} report has no CPUID and the ${wantType} does not name a generation; pass the expected generation`,
        );
    } else if (!report.cpuid) {
      const fromCert = generationOfCert(vek);
      if (fromCert && fromCert !== generation)
        checks.fail('generation', `the ${wantType} is issued for ${fromCert}, expected ${generation}`);
      else checks.pass('generation', `${generation} (given; the v${report.version} report has no CPUID)`);
    }
  } else if (!generation) {
    checks.fail('generation', `the v${report.version} report has no CPUID and no VEK names a generation`);
  }

  const claims = snpClaims(report, generation);

  // AMD chain: ARK (pinned) → ASK/ASVK → VEK.
  if (generation && vek) {
    const pool: X509Certificate[] = [];
    for (const c of evidence.certs ?? []) {
      if (c.type === 'ARK' || c.type === 'ASK') {
        const got = checks.attempt('amd_chain', () => loadCertificates(c.der, `embedded ${c.type}`));
        if (got) pool.push(...got);
      }
    }
    if (opts.amdCertChain) {
      const got = checks.attempt('amd_chain', () => loadCertificates(opts.amdCertChain!, 'AMD certificate chain'));
      if (got) pool.push(...got);
    }
    const have = pickAmdRoots(pool, generation);
    if ((!have.ark || !(keyKind === 'vlek' ? have.asvk : have.ask)) && opts.fetchAmdCertChain) {
      const url = kdsCertChainUrl(generation);
      try {
        pool.push(...loadCertificates(await opts.fetchAmdCertChain(url), `AMD certificate chain from ${url}`));
      } catch (e) {
        checks.fail('amd_chain', `fetching the AMD certificate chain from ${url} failed: ${(e as Error).message}`);
      }
    }
    const roots = pickAmdRoots(pool, generation);
    const issuer = keyKind === 'vlek' ? roots.asvk : roots.ask;
    const issuerName = keyKind === 'vlek' ? 'ASVK' : 'ASK';
    const pinned = (opts.pinnedArkSha256?.[generation] ?? PINNED_ARK_SHA256[generation])
      .replace(/:/g, '')
      .toLowerCase();
    if (!roots.ark) {
      checks.fail('ark_pinned', `no ARK-${generation} certificate in the evidence or the given AMD chain`);
    } else {
      const fp = roots.ark.fingerprint256.replace(/:/g, '').toLowerCase();
      checks.add(
        'ark_pinned',
        fp === pinned,
        fp === pinned
          ? `ARK-${generation} matches the pinned fingerprint`
          : `ARK-${generation} fingerprint ${fp} is not the pinned ${pinned}`,
      );
      const self = issuedByProblem(roots.ark, roots.ark, 'ARK', 'ARK');
      checks.add('ark_self_signed', !self, self ?? `ARK-${generation} is self-signed`);
    }
    if (!issuer)
      checks.fail(
        'ask_signed_by_ark',
        `no ${issuerName} (${keyKind === 'vlek' ? `SEV-VLEK-${generation}` : `SEV-${generation}`}) certificate available`,
      );
    else if (roots.ark) {
      const p = issuedByProblem(issuer, roots.ark, issuerName, `ARK-${generation}`);
      checks.add('ask_signed_by_ark', !p, p ?? `${issuerName} signed by ARK-${generation}`);
    }
    if (issuer) {
      const p = issuedByProblem(vek, issuer, wantType, issuerName);
      checks.add('vek_signed_by_ask', !p, p ?? `${wantType} signed by ${issuerName}`);
    }
    const expired = [
      roots.ark && validityProblem(roots.ark, now, 'ARK'),
      issuer && validityProblem(issuer, now, issuerName),
      validityProblem(vek, now, wantType),
    ].filter((x): x is string => typeof x === 'string');
    checks.add(
      'cert_validity',
      expired.length === 0,
      expired.length ? expired.join('; ') : `valid at ${now.toISOString()}`,
    );
  }

  // Report signature.
  if (vek) {
    if (report.signatureAlgo !== 1) {
      checks.fail('signature', `signature_algo ${report.signatureAlgo} is not 1 (ECDSA P-384 with SHA-384)`);
    } else if (!report.signaturePaddingZero) {
      checks.fail('signature', 'the unused high bytes of signature r/s are not zero');
    } else {
      let ok = false;
      let why = 'the report signature does not verify with the VEK';
      try {
        const key = createPublicKey(vek.publicKey.export({ format: 'pem', type: 'spki' }));
        if (key.asymmetricKeyDetails?.namedCurve !== 'secp384r1')
          why = `the VEK key is not EC P-384 (${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''})`;
        else
          ok = cryptoVerify(
            'sha384',
            report.raw.subarray(0, SNP_SIGNED_SIZE),
            { key, dsaEncoding: 'ieee-p1363' },
            Buffer.concat([report.signatureR, report.signatureS]),
          );
      } catch (e) {
        why = `signature check error: ${(e as Error).message}`;
      }
      checks.add('signature', ok, ok ? `ECDSA P-384 signature by the ${wantType} verifies` : why);
    }

    // VEK extensions vs the report.
    const ext = checks.attempt('vek_tcb', () => readVekExtensions(vek!));
    if (ext && generation) {
      const reported = decodeSnpTcb(report.reportedTcbRaw, generation);
      const comps: Array<[keyof SnpTcb, string]> = [
        ['bootloader', 'blSPL'],
        ['tee', 'teeSPL'],
        ['snp', 'snpSPL'],
        ['microcode', 'ucodeSPL'],
      ];
      if (generation === 'Turin') comps.unshift(['fmc', 'fmcSPL']);
      const bad: string[] = [];
      for (const [k, name] of comps) {
        const certVal = ext.tcb[k];
        if (certVal === undefined) bad.push(`${name} missing from the ${wantType}`);
        else if (certVal !== reported[k]) bad.push(`${name} ${certVal} != reported_tcb.${k} ${reported[k]}`);
      }
      checks.add(
        'vek_tcb',
        bad.length === 0,
        bad.length
          ? bad.join('; ')
          : `${wantType} TCB (${comps.map(([k]) => reported[k]).join(', ')}) equals reported_tcb`,
      );
      if (keyKind === 'vcek') {
        if (!ext.hwId) checks.fail('hwid', 'the VCEK has no hwID extension');
        else
          checks.add(
            'hwid',
            sameBytes(ext.hwId, report.chipId),
            sameBytes(ext.hwId, report.chipId)
              ? 'VCEK hwID equals chip_id'
              : `VCEK hwID ${shortHex(ext.hwId)} != chip_id ${shortHex(report.chipId)}${report.maskChipKey ? ' (MASK_CHIP_ID is set)' : ''}`,
          );
      }
      if (ext.productName) claims.product_name = ext.productName;
    } else if (ext && !generation) {
      checks.fail('vek_tcb', 'cannot compare the VEK TCB without knowing the generation');
    }
  }

  // Policy.
  const pol = decodeSnpPolicy(report.policy);
  const allowDebug = opts.allowDebug ?? false;
  checks.add(
    'debug',
    allowDebug || !pol.debugAllowed,
    pol.debugAllowed
      ? allowDebug
        ? 'guest policy allows debug (accepted by option)'
        : 'guest policy allows DEBUG; debug guests are refused'
      : 'debug disabled',
  );
  const wantVmpl = opts.vmpl ?? 0;
  checks.add(
    'vmpl',
    report.vmpl === wantVmpl,
    report.vmpl === wantVmpl ? `vmpl ${report.vmpl}` : `vmpl = ${report.vmpl}, expected ${wantVmpl}`,
  );
  if (opts.minGuestSvn !== undefined) {
    checks.add(
      'guest_svn',
      report.guestSvn >= opts.minGuestSvn,
      `guest_svn ${report.guestSvn}, minimum ${opts.minGuestSvn}`,
    );
  }
  if (opts.minTcb) {
    if (!generation) checks.fail('min_tcb', 'cannot decode the TCB without knowing the generation');
    else {
      const t = decodeSnpTcb(report.reportedTcbRaw, generation);
      const low = (Object.entries(opts.minTcb) as Array<[keyof SnpTcb, number | undefined]>)
        .filter(([k, min]) => min !== undefined && (t[k] ?? 0) < min)
        .map(([k, min]) => `reported_tcb.${k} ${t[k] ?? 0} < ${min}`);
      checks.add('min_tcb', low.length === 0, low.length ? low.join('; ') : 'reported_tcb meets the minimum');
    }
  }
  if (opts.expectedMeasurement !== undefined) {
    const allowed =
      opts.expectedMeasurement instanceof Uint8Array ? [opts.expectedMeasurement] : opts.expectedMeasurement;
    const ok = allowed.some((m) => sameBytes(m, report.measurement));
    checks.add(
      'measurement',
      ok,
      ok
        ? 'measurement is allowed'
        : `measurement ${hex(report.measurement)} is not among the ${allowed.length} allowed`,
    );
  }
  if (opts.expectedHostData !== undefined) {
    const want = regularize(opts.expectedHostData, 32);
    const ok = sameBytes(want, report.hostData);
    checks.add(
      'host_data',
      ok,
      ok
        ? 'host_data equals the initdata digest'
        : `host_data ${shortHex(report.hostData)} != expected ${shortHex(want)}`,
    );
  }
  if (opts.expectedReportData !== undefined) {
    const want = regularize(opts.expectedReportData, 64);
    const ok = sameBytes(want, report.reportData);
    checks.add(
      'report_data',
      ok,
      ok
        ? 'report_data matches'
        : `Report Data Mismatch: report has ${shortHex(report.reportData)}, expected ${shortHex(want)}`,
    );
  }
  return checks.result('snp', claims);
}

/**
 * `ccgpu attest verify`: verify SNP / TDX / NVIDIA evidence and print the claims and every check as JSON.
 * Exit 0 only when the evidence verifies and the policy passes; 1 when it does not; 2 on usage errors.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TEES, verifyEvidenceBlob, type SnpGeneration, type Tee } from '../../../attestation/verifier/index.js';

const USAGE = `usage: ccgpu attest verify --tee snp|tdx|nvidia|sample --evidence FILE [options]

options:
  --evidence FILE        the evidence: SNP raw report or Trustee JSON; TDX quote (raw/base64) or JSON;
                         NVIDIA SPDM report (hex/base64) or JSON
  --cert FILE            SNP: the VCEK/VLEK (DER or PEM) when not embedded
  --chain FILE           SNP: the AMD ASK/ARK bundle (PEM); NVIDIA: the GPU certificate chain (PEM)
  --collateral DIR       TDX: directory with tcbInfo, QE identity and the TCB signing chain
  --nonce HEX            expected nonce (NVIDIA SPDM nonce; report data for SNP/TDX if --report-data is absent)
  --report-data HEX      expected report data (zero-padded / truncated to the TEE's field)
  --init-data HEX        expected initdata digest (SNP host_data, TDX mr_config_id)
  --now ISO-TIME         the clock for certificate and collateral validity (default: now)
  --allow-debug          accept debug guests
  --min-report-version N SNP: lowest accepted report version (default 3)
  --generation GEN       SNP: expected generation (Milan, Genoa, Turin)
`;

function hexArg(v: string | undefined, flag: string): Buffer | undefined {
  if (v === undefined) return undefined;
  const s = v.startsWith('0x') ? v.slice(2) : v;
  if (s.length === 0 || s.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(s))
    throw new Error(`${flag}: expected an even number of hex digits, got "${v}"`);
  return Buffer.from(s, 'hex');
}

function readArg(v: string | undefined, flag: string): Buffer | undefined {
  if (v === undefined) return undefined;
  try {
    return readFileSync(v);
  } catch (e) {
    throw new Error(`${flag} ${v}: ${(e as Error).message}`);
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'verify') {
    process.stderr.write(
      sub && sub !== '--help' && sub !== '-h' ? `ccgpu attest: unknown subcommand "${sub}"\n\n${USAGE}` : USAGE,
    );
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        tee: { type: 'string' },
        evidence: { type: 'string' },
        cert: { type: 'string' },
        chain: { type: 'string' },
        collateral: { type: 'string' },
        nonce: { type: 'string' },
        'report-data': { type: 'string' },
        'init-data': { type: 'string' },
        now: { type: 'string' },
        'allow-debug': { type: 'boolean' },
        'min-report-version': { type: 'string' },
        generation: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`ccgpu attest verify: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const tee = values.tee as Tee | undefined;
    if (!tee || !TEES.includes(tee))
      throw new Error(`--tee: expected one of ${TEES.join(', ')}, got ${tee === undefined ? 'nothing' : `"${tee}"`}`);
    if (!values.evidence) throw new Error('--evidence FILE is required');
    const now = values.now === undefined ? undefined : new Date(values.now);
    if (now && Number.isNaN(now.getTime())) throw new Error(`--now: "${values.now}" is not an ISO time`);
    const mrv = values['min-report-version'];
    if (mrv !== undefined && !/^\d+$/.test(mrv))
      throw new Error(`--min-report-version: expected a number, got "${mrv}"`);
    const gen = values.generation;
    if (gen !== undefined && !['Milan', 'Genoa', 'Turin'].includes(gen))
      throw new Error(`--generation: expected Milan, Genoa or Turin, got "${gen}"`);
    const result = await verifyEvidenceBlob({
      tee,
      evidence: readArg(values.evidence, '--evidence')!,
      cert: readArg(values.cert, '--cert'),
      chain: readArg(values.chain, '--chain'),
      collateralDir: values.collateral,
      nonce: hexArg(values.nonce, '--nonce'),
      reportData: hexArg(values['report-data'], '--report-data'),
      expectedInitDataDigest: hexArg(values['init-data'], '--init-data'),
      now,
      allowDebug: values['allow-debug'],
      minReportVersion: mrv === undefined ? undefined : Number(mrv),
      generation: gen as SnpGeneration | undefined,
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`ccgpu attest verify: ${(e as Error).message}\n`);
    return 2;
  }
}

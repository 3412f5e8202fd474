/**
 * `ccgpu kbs <serve|set-resource|delete-resource|set-resource-policy|set-attestation-policy|set-reference-values|
 * get-resource|admin-keygen>`: the embedded Key Broker Service (RCAR 0.4.0), its admin API, and a development client.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  checkInitdataBinding,
  detectAttester,
  SampleAttester,
  type Attester,
  type SnpAttester,
  type TdxAttester,
} from '../../../attestation/agent/index.js';
import { guestDeviceIoctl, nativeAvailable } from '../../../native/index.js';
import { parseInitdataToml } from '../../../attestation/initdata/index.js';
import {
  buildKbsServerOptions,
  KBS_CONFIG_DEFAULTS,
  KbsAdminClient,
  KbsClient,
  KbsServer,
  loadKbsConfig,
  parseListen,
  type KbsConfig,
} from '../../../attestation/kbs/index.js';
import { errorMessage } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';

const USAGE = `usage: ccgpu kbs <command> [options]

commands:
  serve                    run the KBS (RCAR protocol 0.4.0)
      --config FILE        kbs.toml (see attestation/kbs/config.ts); flags below override it
      --listen HOST:PORT   default 127.0.0.1:8080
      --resource-dir DIR   where resources are stored (0600 files)
      --admin-public-key F Ed25519 PEM that signs admin JWTs
      --insecure-admin     accept admin requests without authentication (development only)
      --reference-values F JSON reference values for the attestation policy
      --resource-policy F  Rego resource policy      --attestation-policy F  Rego attestation policy
      --allow-list F       fail-closed JSON allow list instead of the Rego resource policy
      --insecure-allow-sample  let the software-only sample TEE receive resources (INSECURE)
      --tls-cert F --tls-key F
      --amd-cert-chain F|DIR  AMD ASK/ARK/ASVK PEM bundle(s) for SNP   --snp-kds  fetch VCEKs from AMD KDS
      --tdx-collateral-dir DIR  Intel tcbInfo / QE identity for TDX    --tdx-pcs  fetch them from Intel PCS
  set-resource --url URL --admin-key PEM --path REPO/TYPE/TAG (--file F | --value V)
  delete-resource --url URL --admin-key PEM --path REPO/TYPE/TAG
  set-resource-policy --url URL --admin-key PEM --file F.rego
  set-attestation-policy --url URL --admin-key PEM --file F.rego [--id default_cpu]
  set-reference-values --url URL --admin-key PEM --file F.json
  get-resource --url URL --path REPO/TYPE/TAG [--initdata F.toml] [--cert PEM] [--attester sample|auto]
                           client: RCAR, resource to stdout. sample (default) is software only and INSECURE;
                           auto uses this guest's TEE (configfs-tsm, /dev/sev-guest, /dev/tdx_guest)
  admin-keygen --out PREFIX  writes PREFIX.key (Ed25519 private PEM, 0600) and PREFIX.pub
`;

type Opts = NonNullable<ParseArgsConfig['options']>;
const ADMIN: Opts = { url: { type: 'string' }, 'admin-key': { type: 'string' }, cert: { type: 'string' } };

function parse(args: string[], options: Opts): Record<string, string | boolean | undefined> {
  return parseArgs({
    args,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  }).values as Record<string, string | boolean | undefined>;
}

function need(v: Record<string, unknown>, k: string): string {
  const x = v[k];
  if (typeof x !== 'string' || x.length === 0) throw new Error(`--${k} is required`);
  return x;
}

function adminClient(v: Record<string, unknown>): KbsAdminClient {
  const key = typeof v['admin-key'] === 'string' ? readFileSync(v['admin-key'], 'utf8') : undefined;
  const cert = typeof v.cert === 'string' ? readFileSync(v.cert, 'utf8') : undefined;
  return new KbsAdminClient(need(v, 'url'), key, cert ? { certPem: cert } : {});
}

async function serve(args: string[]): Promise<number> {
  const v = parse(args, {
    config: { type: 'string' },
    listen: { type: 'string' },
    'resource-dir': { type: 'string' },
    'admin-public-key': { type: 'string' },
    'insecure-admin': { type: 'boolean' },
    'reference-values': { type: 'string' },
    'resource-policy': { type: 'string' },
    'attestation-policy': { type: 'string' },
    'allow-list': { type: 'string' },
    'insecure-allow-sample': { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'amd-cert-chain': { type: 'string' },
    'snp-kds': { type: 'boolean' },
    'tdx-collateral-dir': { type: 'string' },
    'tdx-pcs': { type: 'boolean' },
  });
  if (v.help) return (process.stdout.write(USAGE), 0);
  const cfg: KbsConfig =
    typeof v.config === 'string' ? loadKbsConfig(v.config) : { ...KBS_CONFIG_DEFAULTS, file: '(command line)' };
  const s = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (s('listen')) cfg.listen = parseListen(s('listen')!, '(command line)', '--listen');
  if (s('resource-dir')) cfg.resourceDir = s('resource-dir')!;
  if (s('admin-public-key')) cfg.admin = { mode: 'ed25519', publicKey: s('admin-public-key')! };
  if (v['insecure-admin']) cfg.admin = { mode: 'insecure-allow-all' };
  if (s('reference-values')) cfg.referenceValues = s('reference-values')!;
  if (s('resource-policy')) cfg.resourcePolicy = s('resource-policy')!;
  if (s('attestation-policy')) cfg.attestationPolicy = s('attestation-policy')!;
  if (s('allow-list')) cfg.allowList = s('allow-list')!;
  if (v['insecure-allow-sample']) cfg.insecureAllowSample = true;
  if (s('tls-cert') || s('tls-key')) cfg.tls = { cert: need(v, 'tls-cert'), key: need(v, 'tls-key') };
  cfg.verifier = { ...cfg.verifier };
  if (s('amd-cert-chain')) cfg.verifier.amdCertChain = s('amd-cert-chain')!;
  if (s('tdx-collateral-dir')) cfg.verifier.tdxCollateralDir = s('tdx-collateral-dir')!;
  if (v['snp-kds']) cfg.verifier.snpKds = true;
  if (v['tdx-pcs']) cfg.verifier.tdxPcs = true;
  const logger = createLogger({ name: 'ccgpu-kbs' });
  const server = new KbsServer(buildKbsServerOptions(cfg, { logger }));
  const url = await server.listen(cfg.listen.port, cfg.listen.host);
  process.stdout.write(`KBS listening on ${url} (policy: ${server.policy.kind}, admin: ${cfg.admin.mode})\n`);
  if (cfg.admin.mode === 'insecure-allow-all')
    process.stdout.write('WARNING: the admin API is unauthenticated (--insecure-admin)\n');
  if (cfg.insecureAllowSample)
    process.stdout.write('WARNING: the software-only sample TEE may receive resources (INSECURE)\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

async function admin(sub: string, args: string[]): Promise<number> {
  const extra: Opts = {
    path: { type: 'string' },
    file: { type: 'string' },
    value: { type: 'string' },
    id: { type: 'string' },
  };
  const v = parse(args, { ...ADMIN, ...extra });
  if (v.help) return (process.stdout.write(USAGE), 0);
  const c = adminClient(v);
  try {
    switch (sub) {
      case 'set-resource': {
        const value = typeof v.value === 'string' ? Buffer.from(v.value) : readFileSync(need(v, 'file'));
        await c.setResource(need(v, 'path'), value);
        break;
      }
      case 'delete-resource':
        await c.deleteResource(need(v, 'path'));
        break;
      case 'set-resource-policy':
        await c.setResourcePolicy(readFileSync(need(v, 'file'), 'utf8'));
        break;
      case 'set-attestation-policy':
        await c.setAttestationPolicy(
          readFileSync(need(v, 'file'), 'utf8'),
          typeof v.id === 'string' ? v.id : undefined,
        );
        break;
      case 'set-reference-values':
        await c.setReferenceValues(JSON.parse(readFileSync(need(v, 'file'), 'utf8')) as Record<string, unknown>);
        break;
    }
  } finally {
    await c.close();
  }
  process.stdout.write(`${sub}: ok\n`);
  return 0;
}

async function getResource(args: string[]): Promise<number> {
  const v = parse(args, {
    url: { type: 'string' },
    path: { type: 'string' },
    initdata: { type: 'string' },
    cert: { type: 'string' },
    attester: { type: 'string' },
  });
  if (v.help) return (process.stdout.write(USAGE), 0);
  const toml = typeof v.initdata === 'string' ? readFileSync(v.initdata, 'utf8') : undefined;
  const initdata = toml !== undefined ? parseInitdataToml(toml) : undefined;
  const kind = typeof v.attester === 'string' ? v.attester : 'sample';
  if (kind !== 'sample' && kind !== 'auto')
    throw new Error(`--attester must be sample or auto, got ${JSON.stringify(kind)}`);
  let attester: Attester;
  if (kind === 'auto') {
    // this guest's TEE; the INSECURE sample attester is never chosen implicitly
    attester = await detectAttester(nativeAvailable() ? { ioctl: guestDeviceIoctl } : {});
    if (initdata) await checkInitdataBinding(attester as SnpAttester | TdxAttester, initdata.digest);
  } else {
    process.stderr.write('WARNING: using the sample attester (software only, INSECURE)\n');
    attester = new SampleAttester(initdata ? { initdataDigest: initdata.digest } : {});
  }
  const client = new KbsClient({
    url: need(v, 'url'),
    attester,
    ...(toml !== undefined ? { initdataToml: toml } : {}),
    ...(typeof v.cert === 'string' ? { certPem: readFileSync(v.cert, 'utf8') } : {}),
    retry: { attempts: 3 },
  });
  try {
    process.stdout.write(await client.getResource(need(v, 'path')));
  } finally {
    await client.close();
  }
  return 0;
}

function keygen(args: string[]): number {
  const v = parse(args, { out: { type: 'string' } });
  if (v.help) return (process.stdout.write(USAGE), 0);
  const out = need(v, 'out');
  const kp = generateKeyPairSync('ed25519');
  writeFileSync(`${out}.key`, kp.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(`${out}.pub`, kp.publicKey.export({ format: 'pem', type: 'spki' }), { flag: 'wx' });
  process.stdout.write(`wrote ${out}.key (private, 0600) and ${out}.pub\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE);
    return sub ? 0 : 2;
  }
  try {
    switch (sub) {
      case 'serve':
        return await serve(rest);
      case 'set-resource':
      case 'delete-resource':
      case 'set-resource-policy':
      case 'set-attestation-policy':
      case 'set-reference-values':
        return await admin(sub, rest);
      case 'get-resource':
        return await getResource(rest);
      case 'admin-keygen':
        return keygen(rest);
      default:
        process.stderr.write(`ccgpu kbs: unknown command "${sub}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`ccgpu kbs ${sub}: ${errorMessage(e)}\n`);
    return 1;
  }
}

/**
 * `ccgpu secret <keygen|seal|inspect|verify>`: Confidential Containers sealed secrets (`sealed.<ES256 JWS>`), the
 * counterpart of guest-components' `secret` tool.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import {
  buildKbsEnvelopePayload,
  buildVaultPayload,
  generateSealingKeyPair,
  parseSealedSecret,
  sealSecret,
  verifySealedSecret,
} from '../../../attestation/sealed/index.js';
import { errorMessage } from '../../errors/index.js';

const USAGE = `usage: ccgpu secret <command> [options]

commands:
  keygen --kid KID --out PREFIX
        a new ES256 signing key: PREFIX-private.json (0600) and PREFIX-public.json (store the public JWK in the KBS
        at the kid URI, e.g. kbs:///default/signing-key/mykey, or in the guest's sealed-secret key directory)
  seal --signing-kid KID --signing-jwk-path PRIVATE.json vault --resource-uri kbs:///REPO/TYPE/TAG [--provider kbs]
        a vault secret: the guest resolves the name through the provider (kbs: the KBS resource)
  seal --signing-kid KID --signing-jwk-path PRIVATE.json envelope --key-id kbs:///REPO/TYPE/TAG --kek-file KEK
       (--file F | --value V)
        an envelope secret: the data is encrypted (A256GCM) under a fresh key wrapped with the 32-byte KEK the KBS
        holds at --key-id
  inspect SEALED              print header and payload (no verification)
  verify SEALED --public-jwk PUBLIC.json   check the ES256 signature
`;

function str(v: unknown, flag: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new Error(`--${flag} is required`);
  return v;
}

function readJwk(file: string): JWK {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch (e) {
    throw new Error(`${file}: not a JSON Web Key: ${errorMessage(e)}`);
  }
}

function keygen(args: string[]): number {
  const { values: v } = parseArgs({
    args,
    options: { kid: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  const kid = str(v.kid, 'kid');
  const out = str(v.out, 'out');
  const { privateJwk, publicJwk } = generateSealingKeyPair(kid);
  writeFileSync(`${out}-private.json`, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  writeFileSync(`${out}-public.json`, JSON.stringify(publicJwk, null, 2) + '\n', { flag: 'wx' });
  process.stdout.write(`wrote ${out}-private.json (0600) and ${out}-public.json for kid ${kid}\n`);
  return 0;
}

async function seal(args: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args,
    options: {
      'signing-kid': { type: 'string' },
      'signing-jwk-path': { type: 'string' },
      'resource-uri': { type: 'string' },
      provider: { type: 'string' },
      'key-id': { type: 'string' },
      'kek-file': { type: 'string' },
      file: { type: 'string' },
      value: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  const kid = str(v['signing-kid'], 'signing-kid');
  const privateJwk = readJwk(str(v['signing-jwk-path'], 'signing-jwk-path'));
  const kind = positionals[0];
  if (positionals.length !== 1 || (kind !== 'vault' && kind !== 'envelope'))
    throw new Error('seal: say "vault" or "envelope"');
  let payload;
  if (kind === 'vault') {
    payload = buildVaultPayload(
      str(v['resource-uri'], 'resource-uri'),
      typeof v.provider === 'string' ? v.provider : 'kbs',
    );
  } else {
    if (typeof v.file === 'string' && typeof v.value === 'string')
      throw new Error('seal envelope: give --file or --value, not both');
    const plaintext = typeof v.value === 'string' ? Buffer.from(v.value) : readFileSync(str(v.file, 'file'));
    payload = buildKbsEnvelopePayload(
      plaintext,
      readFileSync(str(v['kek-file'], 'kek-file')),
      str(v['key-id'], 'key-id'),
    );
  }
  process.stdout.write((await sealSecret(payload, { kid, privateJwk })) + '\n');
  return 0;
}

function inspect(args: string[]): number {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  const p = parseSealedSecret(str(positionals[0], 'SEALED (argument)'));
  process.stdout.write(JSON.stringify({ header: p.header, payload: p.payload }, null, 2) + '\n');
  return 0;
}

async function verify(args: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args,
    options: { 'public-jwk': { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  const jwk = readJwk(str(v['public-jwk'], 'public-jwk'));
  const r = await verifySealedSecret(str(positionals[0], 'SEALED (argument)'), { resolveKey: async () => jwk });
  process.stdout.write(
    `signature OK (kid ${String(r.header.kid)}), ${r.payload.type} secret via provider ${r.payload.provider}\n`,
  );
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return sub ? 0 : 2;
  }
  try {
    switch (sub) {
      case 'keygen':
        return keygen(rest);
      case 'seal':
        return await seal(rest);
      case 'inspect':
        return inspect(rest);
      case 'verify':
        return await verify(rest);
      default:
        process.stderr.write(`ccgpu secret: unknown command "${sub}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`ccgpu secret ${sub}: ${errorMessage(e)}\n`);
    return 1;
  }
}

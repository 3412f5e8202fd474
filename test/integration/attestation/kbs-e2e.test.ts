/* eslint-disable @typescript-eslint/no-explicit-any -- decoded tokens and JWEs are inspected as plain JSON */
/**
 * End to end on loopback: a real `ccgpu kbs serve` process and the guest-side client (sample attester), CDH and
 * sealed secrets. Covers: auth → attest → token → resource JWE decrypted; a sealed secret (ours and the Kata CI
 * vector) unsealed through it; refusals when the policy refuses the sample TEE, on nonce replay, without cookie.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SampleAttester } from '../../../attestation/agent/index.js';
import { ConfidentialDataHub, guestKbsConfigFromInitdata, unsealEnv } from '../../../attestation/cdh/index.js';
import { parseInitdataToml } from '../../../attestation/initdata/index.js';
import {
  generateTeeKeyPair,
  KbsAdminClient,
  KbsClient,
  KbsError,
  primaryRuntimeData,
  runtimeDataDigest,
} from '../../../attestation/kbs/index.js';
import { buildVaultPayload, generateSealingKeyPair, sealSecret } from '../../../attestation/sealed/index.js';

const repoRoot = path.resolve(__dirname, '../../..');
const vectors = path.resolve(repoRoot, '../shared/vectors/sealed');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');

interface Kbs {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

async function startKbs(dir: string, extra: string[]): Promise<Kbs> {
  const proc = spawn(
    tsx,
    [
      'src/cli/main.ts',
      'kbs',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--resource-dir',
      path.join(dir, 'resources'),
      ...extra,
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CCGPU_LOG_LEVEL: 'info' },
    },
  );
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`kbs serve did not start: ${out}${err}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /KBS listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => reject(new Error(`kbs serve exited ${code}: ${out}${err}`)));
  });
  return { proc, url, output: () => out + err };
}

async function stop(k?: Kbs): Promise<void> {
  if (!k || k.proc.exitCode !== null) return;
  const exited = new Promise((r) => k.proc.once('exit', r));
  k.proc.kill('SIGTERM');
  await exited;
}

let dir: string;
let open: Kbs;
let strict: Kbs;
const admin = generateKeyPairSync('ed25519');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kbs-e2e-'));
  writeFileSync(path.join(dir, 'admin.pub'), admin.publicKey.export({ format: 'pem', type: 'spki' }));
  const common = ['--admin-public-key', path.join(dir, 'admin.pub')];
  [open, strict] = await Promise.all([
    startKbs(path.join(dir, 'open'), [...common, '--insecure-allow-sample']),
    startKbs(path.join(dir, 'strict'), common),
  ]);
  const adminPem = admin.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  for (const k of [open, strict]) {
    const a = new KbsAdminClient(k.url, adminPem);
    await a.setResource('default/key/db-password', Buffer.from('s3cr3t-db-password'));
    await a.setResource('default/sealed-secret/test', Buffer.from('unsealed_secret'));
    await a.setResource(
      'default/signing-key/sealed-secret',
      readFileSync(path.join(vectors, 'signing-public.jwk.json')),
    );
    await a.close();
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([stop(open), stop(strict)]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function initdataFor(url: string): string {
  return `version = "0.1.0"
algorithm = "sha384"

[data]
"cdh.toml" = '''
socket = "unix:///run/confidential-containers/cdh.sock"
[kbc]
name = "cc_kbc"
url = "${url}"
'''
`;
}

function guestClient(url: string): { client: KbsClient; cdh: ConfidentialDataHub } {
  const toml = initdataFor(url);
  const initdata = parseInitdataToml(toml);
  const cfg = guestKbsConfigFromInitdata(initdata); // the KBS URL comes from initdata
  const client = new KbsClient({
    url: cfg.url,
    attester: new SampleAttester({ initdataDigest: initdata.digest }),
    initdataToml: toml,
    retry: { attempts: 2, baseDelayMs: 10 },
  });
  return { client, cdh: new ConfidentialDataHub({ kbs: client }) };
}

describe('KBS end to end on loopback (ccgpu kbs serve + guest client, sample TEE)', () => {
  it('auth → attest → token → resource JWE decrypted', async () => {
    const { client, cdh } = guestClient(open.url);
    try {
      expect((await client.getResource('default/key/db-password')).toString()).toBe('s3cr3t-db-password');
      expect((await cdh.getResource('kbs:///default/key/db-password')).toString()).toBe('s3cr3t-db-password');
      const token = await client.getToken();
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as any;
      const ae = claims.submods.cpu0['ear.veraison.annotated-evidence'];
      expect(ae.sample.insecure).toBe(true);
      expect(ae.init_data).toBe(parseInitdataToml(initdataFor(open.url)).digest.toString('hex'));
      expect(ae.init_data_claims['cdh.toml'].kbc.url).toBe(open.url);
    } finally {
      await client.close();
    }
    expect(open.output()).toMatch(/INSECURE/);
    expect(open.output()).toMatch(/policy: rego/);
    // no secret value, token or cookie reaches the log
    expect(open.output()).not.toMatch(/s3cr3t-db-password|kbs-session-id=[0-9a-f]{32}|eyJ[A-Za-z0-9_-]{20,}\./);
  });

  it('unseals the Kata CI sealed secret and our own signed sealed secret through the KBS', async () => {
    const { client, cdh } = guestClient(open.url);
    try {
      const vector = readFileSync(path.join(vectors, 'precreated-test.sealed'), 'utf8').trim();
      expect((await cdh.unsealSecret(vector)).toString()).toBe('unsealed_secret');
      const { privateJwk, publicJwk } = generateSealingKeyPair('ours');
      const a = new KbsAdminClient(open.url, admin.privateKey);
      await a.setResource('default/signing-key/ours', Buffer.from(JSON.stringify(publicJwk)));
      await a.close();
      const sealed = await sealSecret(buildVaultPayload('kbs:///default/key/db-password'), {
        kid: 'kbs:///default/signing-key/ours',
        privateJwk,
      });
      const env = await unsealEnv([`DB=${sealed}`, 'B=notsealed.x', 'PATH=/bin'], cdh);
      expect(env).toEqual(['DB=s3cr3t-db-password', 'B=notsealed.x', 'PATH=/bin']);
    } finally {
      await client.close();
    }
  });

  it('is refused when the policy refuses the sample TEE', async () => {
    const { client, cdh } = guestClient(strict.url);
    try {
      const err = await client.getResource('default/key/db-password').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KbsError);
      expect((err as KbsError).variant).toBe('PolicyDeny');
      await expect(
        cdh.unsealSecret(readFileSync(path.join(vectors, 'precreated-test.sealed'), 'utf8').trim()),
      ).rejects.toThrow(/policy denied/);
    } finally {
      await client.close();
    }
  });

  it('is refused when the nonce is replayed or the session cookie is missing', async () => {
    const api = open.url + '/kbs/v0';
    const auth = async () => {
      const r = await fetch(api + '/auth', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }),
      });
      return {
        nonce: ((await r.json()) as { nonce: string }).nonce,
        cookie: r.headers.get('set-cookie')!.split(';')[0]!,
      };
    };
    const tee = generateTeeKeyPair();
    const attestation = async (nonce: string) => ({
      'runtime-data': { nonce, 'tee-pubkey': tee.publicJwk },
      'tee-evidence': {
        primary_evidence: await new SampleAttester().getEvidence(
          runtimeDataDigest(primaryRuntimeData(nonce, tee.publicJwk, '')),
        ),
        additional_evidence: '',
      },
    });
    const attest = (body: unknown, cookie?: string) =>
      fetch(api + '/attest', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(body),
      });
    const s1 = await auth();
    const first = await attestation(s1.nonce);
    expect((await attest(first, s1.cookie)).status).toBe(200);
    // replay the same attestation on the same session
    const again = await attest(first, s1.cookie);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { type: string }).type).toMatch(/errors\/NonceMismatch$/);
    // replay it on a new session (its nonce is different)
    const s2 = await auth();
    const replay = await attest(first, s2.cookie);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { detail: string }).detail).toMatch(/nonce does not match/);
    // no cookie
    const s3 = await auth();
    const noCookie = await attest(await attestation(s3.nonce));
    expect(noCookie.status).toBe(401);
    expect(((await noCookie.json()) as { type: string }).type).toMatch(/errors\/MissingCookie$/);
  });

  it('ccgpu kbs set-resource (admin JWT) and get-resource (development client) work against the server', async () => {
    const run = promisify(execFile);
    const keyFile = path.join(dir, 'admin.key');
    writeFileSync(keyFile, admin.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const cli = (args: string[]) =>
      run(tsx, ['src/cli/main.ts', 'kbs', ...args], {
        cwd: repoRoot,
        env: { ...process.env, CCGPU_LOG_LEVEL: 'error' },
      });
    const set = await cli([
      'set-resource',
      '--url',
      open.url,
      '--admin-key',
      keyFile,
      '--path',
      'default/cli/one',
      '--value',
      'from-the-cli',
    ]);
    expect(set.stdout).toMatch(/set-resource: ok/);
    const get = await cli(['get-resource', '--url', open.url, '--path', 'default/cli/one']);
    expect(get.stdout).toBe('from-the-cli');
    expect(get.stderr).toMatch(/sample attester \(software only, INSECURE\)/);
    const refused = await cli(['get-resource', '--url', strict.url, '--path', 'default/key/db-password']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((refused as { code: number }).code).toBe(1);
    expect((refused as { stderr: string }).stderr).toMatch(/policy denied/);
    const noAdmin = await cli(['set-resource', '--url', open.url, '--path', 'default/cli/two', '--value', 'x']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((noAdmin as { stderr: string }).stderr).toMatch(/AdminAuth|admin/i);
    if (!['/dev/sev-guest', '/dev/tdx_guest', '/sys/kernel/config/tsm/report'].some((p) => existsSync(p))) {
      // not a TEE guest: --attester auto refuses rather than falling back to the sample attester
      const auto = await cli([
        'get-resource',
        '--url',
        open.url,
        '--path',
        'default/cli/one',
        '--attester',
        'auto',
      ]).catch((e: { code: number; stderr: string }) => e);
      expect((auto as { stderr: string }).stderr).toMatch(/no TEE found/);
    }
  }, 60_000);
});

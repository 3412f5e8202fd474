/** `ccgpu secret keygen|seal|inspect|verify` through its run() entry point, checked with the library. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kbsSecretProvider, unsealSecret, verifySealedSecret } from '../../../../attestation/sealed/index.js';
import { run } from '../../../../src/cli/commands/secret.js';

const vectors = path.resolve(__dirname, '../../../../../shared/vectors/sealed');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'secret-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await run(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('ccgpu secret', () => {
  it('keygen → seal vault → verify; the signature checks with the public JWK only', async () => {
    const prefix = path.join(dir, 'k1');
    expect((await cli(['keygen', '--kid', 'kbs:///default/signing-key/k1', '--out', prefix])).code).toBe(0);
    expect(statSync(`${prefix}-private.json`).mode & 0o777).toBe(0o600);
    const pub = JSON.parse(readFileSync(`${prefix}-public.json`, 'utf8')) as JWK;
    expect(pub.d).toBeUndefined();
    expect(pub).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: 'kbs:///default/signing-key/k1' });
    const r = await cli([
      'seal',
      '--signing-kid',
      'kbs:///default/signing-key/k1',
      '--signing-jwk-path',
      `${prefix}-private.json`,
      'vault',
      '--resource-uri',
      'kbs:///default/key/db',
    ]);
    expect(r.code).toBe(0);
    const sealed = r.out.trim();
    expect(sealed).toMatch(/^sealed\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const v = await verifySealedSecret(sealed, { resolveKey: async () => pub });
    expect(v.verified).toBe(true);
    expect(v.header).toEqual({ b64: true, alg: 'ES256', kid: 'kbs:///default/signing-key/k1' });
    expect(v.payload).toMatchObject({ type: 'vault', name: 'kbs:///default/key/db', provider: 'kbs' });
    const ok = await cli(['verify', sealed, '--public-jwk', `${prefix}-public.json`]);
    expect(ok.out).toMatch(/signature OK \(kid kbs:\/\/\/default\/signing-key\/k1\), vault secret via provider kbs/);
    const insp = JSON.parse((await cli(['inspect', sealed])).out) as { payload: { name: string } };
    expect(insp.payload.name).toBe('kbs:///default/key/db');
    // refusing to overwrite an existing key
    const again = await cli(['keygen', '--kid', 'x', '--out', prefix]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/EEXIST/);
  });

  it('verify accepts the Kata CI vector and refuses it with another key', async () => {
    const sealed = readFileSync(path.join(vectors, 'precreated-test.sealed'), 'utf8').trim();
    expect((await cli(['verify', sealed, '--public-jwk', path.join(vectors, 'signing-public.jwk.json')])).code).toBe(0);
    await cli(['keygen', '--kid', 'other', '--out', path.join(dir, 'other')]);
    const bad = await cli(['verify', sealed, '--public-jwk', path.join(dir, 'other-public.json')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      /ES256 signature verification with key "kbs:\/\/\/default\/signing-key\/sealed-secret" failed/,
    );
  });

  it('seal envelope: unsealed with the KEK the KBS holds; wrong KEK fails', async () => {
    const prefix = path.join(dir, 'k2');
    await cli(['keygen', '--kid', 'k2', '--out', prefix]);
    const kek = randomBytes(32);
    writeFileSync(path.join(dir, 'kek'), kek);
    const r = await cli([
      'seal',
      '--signing-kid',
      'k2',
      '--signing-jwk-path',
      `${prefix}-private.json`,
      'envelope',
      '--key-id',
      'kbs:///default/kek/1',
      '--kek-file',
      path.join(dir, 'kek'),
      '--value',
      'envelope-plaintext',
    ]);
    expect(r.code).toBe(0);
    const pub = JSON.parse(readFileSync(`${prefix}-public.json`, 'utf8')) as JWK;
    const fetched: string[] = [];
    const plain = await unsealSecret(r.out.trim(), {
      resolveKey: async () => pub,
      providers: { kbs: kbsSecretProvider(async (u) => (fetched.push(u), kek)) },
    });
    expect(plain.toString()).toBe('envelope-plaintext');
    expect(fetched).toEqual(['kbs:///default/kek/1']);
    await expect(
      unsealSecret(r.out.trim(), {
        resolveKey: async () => pub,
        providers: { kbs: kbsSecretProvider(async () => randomBytes(32)) },
      }),
    ).rejects.toThrow(/unwrapping encrypted_key failed/);
  });

  it('bad usage is a clear error with exit code 1 or 2', async () => {
    expect(
      (await cli(['seal', '--signing-kid', 'k', '--signing-jwk-path', path.join(dir, 'nope.json'), 'vault'])).err,
    ).toMatch(/nope\.json: not a JSON Web Key/);
    expect(
      (await cli(['seal', '--signing-kid', 'k', '--signing-jwk-path', path.join(dir, 'k1-private.json'), 'other'])).err,
    ).toMatch(/say "vault" or "envelope"/);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
  });
});

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded tokens and JWEs are inspected as plain JSON */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, flattenedDecrypt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AllowListKbsPolicy,
  generateTeeKeyPair,
  INSECURE_HEADER,
  KbsServer,
  primaryRuntimeData,
  runtimeDataDigest,
  signAdminToken,
  type TeePubkey,
} from '../../../../attestation/kbs/index.js';
import { SampleAttester } from '../../../../attestation/agent/sample-attester.js';

const admin = generateKeyPairSync('ed25519');
let dir: string;
let server: KbsServer;
let url: string;
const policy = new AllowListKbsPolicy([{ path: 'default/key/*', tees: ['sample'] }]);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kbs-test-'));
  server = new KbsServer({ resourceDir: dir, policy, admin: { mode: 'ed25519', publicKey: admin.publicKey } });
  url = (await server.listen(0)) + '/kbs/v0';
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(p: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url + p, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
async function auth(): Promise<{ nonce: string; cookie: string; res: Response }> {
  const res = await post('/auth', { version: '0.4.0', tee: 'sample', 'extra-params': '' });
  const j = (await res.json()) as { nonce: string };
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { nonce: j.nonce, cookie, res };
}
async function attestation(nonce: string, pub: TeePubkey) {
  const digest = runtimeDataDigest(primaryRuntimeData(nonce, pub, ''));
  return {
    'runtime-data': { nonce, 'tee-pubkey': pub },
    'tee-evidence': { primary_evidence: await new SampleAttester().getEvidence(digest), additional_evidence: '' },
  };
}
async function adminToken(): Promise<string> {
  return signAdminToken(admin.privateKey);
}
async function expectKbsError(res: Response, status: number, variant: string, detail?: RegExp) {
  expect(res.status).toBe(status);
  const j = (await res.json()) as { type: string; detail: string };
  expect(j.type).toBe('https://github.com/confidential-containers/kbs/errors/' + variant);
  if (detail) expect(j.detail).toMatch(detail);
}

describe('KBS server RCAR state machine', () => {
  it('refuses other protocol versions', async () => {
    const res = await post('/auth', { version: '0.2.0', tee: 'sample', 'extra-params': '' });
    await expectKbsError(res, 401, 'ProtocolVersion', /Protocol Version Mismatch: expect =0\.4\.0/);
  });

  it('auth gives a 44-char nonce and the session cookie, marked insecure for sample', async () => {
    const { nonce, cookie, res } = await auth();
    expect(res.status).toBe(200);
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(nonce, 'base64').length).toBe(32);
    expect(cookie).toMatch(/^kbs-session-id=[0-9a-f]{32}$/);
    expect(res.headers.get('set-cookie')).toMatch(/Expires=/);
    expect(res.headers.get(INSECURE_HEADER)).toMatch(/sample TEE/);
  });

  it('full flow: attest → EAR token → resource JWE, by cookie and by bearer; errors otherwise', async () => {
    await fetch(url + '/resource/default/key/1', {
      method: 'POST',
      body: 'top secret',
      headers: { authorization: `Bearer ${await adminToken()}` },
    }).then((r) => expect(r.status).toBe(200));
    const { nonce, cookie } = await auth();
    const tee = generateTeeKeyPair('P-256');
    // no cookie
    await expectKbsError(await post('/attest', await attestation(nonce, tee.publicJwk)), 401, 'MissingCookie');
    // wrong nonce (consumes the session's nonce)
    await expectKbsError(
      await post('/attest', await attestation('AAAA' + nonce.slice(4), tee.publicJwk), { cookie }),
      401,
      'NonceMismatch',
    );
    // the nonce of that session cannot be used any more, even correctly
    await expectKbsError(
      await post('/attest', await attestation(nonce, tee.publicJwk), { cookie }),
      401,
      'NonceMismatch',
      /already used/,
    );

    const s2 = await auth();
    const res = await post('/attest', await attestation(s2.nonce, tee.publicJwk), { cookie: s2.cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get(INSECURE_HEADER)).toMatch(/NO hardware protection/);
    const { token } = (await res.json()) as { token: string };
    const hdr = decodeProtectedHeader(token);
    expect(hdr.alg).toBe('ES256');
    expect(hdr.jwk).toEqual(server.tokenPublicJwk);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, any>;
    expect(claims.eat_profile).toBe('tag:github.com,2024:confidential-containers/Trustee');
    const ae = claims.submods.cpu0['ear.veraison.annotated-evidence'];
    expect(ae.runtime_data_claims['tee-pubkey']).toEqual(tee.publicJwk);
    expect(ae.sample.insecure).toBe(true);
    expect(claims.submods.cpu0['ear.status']).toBe('contraindicated');
    // replaying the same attestation on the same session
    await expectKbsError(
      await post('/attest', await attestation(s2.nonce, tee.publicJwk), { cookie: s2.cookie }),
      401,
      'NonceMismatch',
    );

    for (const headers of [{ cookie: s2.cookie }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const r = await fetch(url + '/resource/default/key/1', { headers });
      expect(r.status).toBe(200);
      expect(r.headers.get(INSECURE_HEADER)).toMatch(/sample/);
      const jwe = (await r.json()) as any;
      const { plaintext } = await flattenedDecrypt(jwe, tee.privateKey);
      expect(Buffer.from(plaintext).toString()).toBe('top secret');
    }
    await expectKbsError(await fetch(url + '/resource/default/key/1'), 401, 'TokenNotFound');
    await expectKbsError(
      await fetch(url + '/resource/default/key/1', { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } }),
      401,
      'TokenInvalid',
    );
    // a token signed by someone else, with its own jwk in the header, is refused
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', jwk: other.publicKey.export({ format: 'jwk' }) as any })
      .sign(other.privateKey);
    await expectKbsError(
      await fetch(url + '/resource/default/key/1', { headers: { authorization: `Bearer ${forged}` } }),
      401,
      'TokenInvalid',
    );
    // not in the allow-list
    await expectKbsError(
      await fetch(url + '/resource/default/other/1', { headers: { authorization: `Bearer ${token}` } }),
      401,
      'PolicyDeny',
    );
    // missing resource, bad paths, unknown plugin
    const miss = await fetch(url + '/resource/default/key/nope', { headers: { authorization: `Bearer ${token}` } });
    expect(miss.status).toBe(404);
    await expectKbsError(
      await fetch(url + '/resource/default/..%2F..', { headers: { authorization: `Bearer ${token}` } }),
      404,
      'InvalidRequestPath',
    );
    await expectKbsError(await fetch(url + '/nebula-ca/x'), 404, 'PluginNotFound');
  });

  it('evidence not bound to the nonce/key is refused', async () => {
    const { nonce, cookie } = await auth();
    const tee = generateTeeKeyPair('P-256');
    const other = generateTeeKeyPair('P-256');
    const att = await attestation(nonce, other.publicJwk); // evidence binds another key
    att['runtime-data']['tee-pubkey'] = tee.publicJwk;
    await expectKbsError(await post('/attest', att, { cookie }), 401, 'AttestationFailed', /Report Data Mismatch/);
  });

  it('admin API needs a valid Ed25519 JWT; resources are 0600 files', async () => {
    const put = (headers: Record<string, string>) =>
      fetch(url + '/resource/default/key/2', { method: 'POST', body: 'v2', headers });
    await expectKbsError(await put({}), 401, 'AdminAuthAccess');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(admin.privateKey);
    await expectKbsError(await put({ authorization: `Bearer ${expired}` }), 401, 'AdminAuthAccess', /exp/);
    const stranger = generateKeyPairSync('ed25519');
    await expectKbsError(
      await put({ authorization: `Bearer ${await signAdminToken(stranger.privateKey)}` }),
      401,
      'AdminAuthAccess',
    );
    expect((await put({ authorization: `Bearer ${await adminToken()}` })).status).toBe(200);
    const st = statSync(path.join(dir, 'default', 'key', '2'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(readdirSync(path.join(dir, 'default', 'key')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const del = await fetch(url + '/resource/default/key/2', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await adminToken()}` },
    });
    expect(del.status).toBe(200);
    // allow-list mode: setting Rego policies is refused with a clear error
    const rp = await post(
      '/resource-policy',
      { policy: Buffer.from('package policy\n').toString('base64url') },
      { authorization: `Bearer ${await adminToken()}` },
    );
    await expectKbsError(rp, 401, 'PolicyEngineError', /without a Rego engine/);
  });
});

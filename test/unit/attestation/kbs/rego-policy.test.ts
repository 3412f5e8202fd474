/**
 * The KBS policies evaluated by ccgpu's Rego engine: default attestation appraisal (trust vector from evidence and
 * reference values), default resource policy (refuses the sample TEE), admin-set resource policies (Trustee's
 * allow_all / affirming samples), bad Rego refused, session expiry.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { flattenedDecrypt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { SampleAttester } from '../../../../attestation/agent/sample-attester.js';
import {
  ALLOW_ALL_RESOURCE_POLICY,
  defaultRegoEngineFactory,
  generateTeeKeyPair,
  KbsServer,
  primaryRuntimeData,
  RegoKbsPolicy,
  runtimeDataDigest,
  signAdminToken,
  type EarClaims,
  type TeePubkey,
} from '../../../../attestation/kbs/index.js';

const AFFIRMING_POLICY = `package policy
import rego.v1
default allow := false
allow if {
  count(input.submods) > 0
  every _, s in input.submods { s["ear.status"] == "affirming" }
}
`;

function claims(tee: string, status: string): EarClaims {
  return {
    eat_profile: 'tag:github.com,2024:confidential-containers/Trustee',
    'ear.verifier-id': { developer: 'x', build: 'y' },
    submods: {
      cpu0: {
        'ear.status': status as 'affirming',
        'ear.trustworthiness-vector': {},
        'ear.appraisal-policy-id': 'default_cpu',
        'ear.veraison.annotated-evidence': { [tee]: {} },
      },
    },
  };
}
const req = { plugin: 'resource', resourcePath: ['default', 'key', '1'], query: {} };

describe('Rego KBS policies (ccgpu engine)', () => {
  it('default attestation policy: hardware, executables and configuration from evidence and reference values', async () => {
    const p = new RegoKbsPolicy(defaultRegoEngineFactory, {
      referenceValues: { measurement: ['aa11'], init_data: ['cc22'] },
    });
    const good = await p.appraise({ snp: { measurement: 'aa11' }, init_data: 'cc22' }, 'snp');
    expect(good).toEqual({ trustVector: { configuration: 2, executables: 3, hardware: 2 }, policyId: 'default_cpu' });
    const unknown = await p.appraise({ tdx: { mr_td: 'ffff' }, init_data: 'dd33' }, 'tdx');
    expect(unknown.trustVector).toEqual({ configuration: 36, executables: 33, hardware: 2 });
    const sample = await p.appraise({ sample: { svn: '1' } }, 'sample');
    expect(sample.trustVector.hardware).toBe(97);
  });

  it('default resource policy refuses the sample TEE and non-affirming results; allows affirming snp/tdx', async () => {
    const p = new RegoKbsPolicy(defaultRegoEngineFactory);
    expect(await p.allowResource(claims('sample', 'affirming'), req)).toBe(false);
    expect(await p.allowResource(claims('snp', 'affirming'), req)).toBe(true);
    expect(await p.allowResource(claims('tdx', 'affirming'), req)).toBe(true);
    expect(await p.allowResource(claims('snp', 'warning'), req)).toBe(false);
    expect(await p.allowResource(claims('snp', 'affirming'), { ...req, plugin: 'nebula-ca' })).toBe(false);
  });

  it('allow_all and affirming sample policies behave as Trustee documents', async () => {
    const all = new RegoKbsPolicy(defaultRegoEngineFactory, { resourcePolicy: ALLOW_ALL_RESOURCE_POLICY });
    expect(await all.allowResource(claims('sample', 'contraindicated'), req)).toBe(true);
    const aff = new RegoKbsPolicy(defaultRegoEngineFactory, { resourcePolicy: AFFIRMING_POLICY });
    expect(await aff.allowResource(claims('snp', 'affirming'), req)).toBe(true);
    const mixed = claims('snp', 'affirming');
    mixed.submods.gpu0 = { ...mixed.submods.cpu0!, 'ear.status': 'warning' };
    expect(await aff.allowResource(mixed, req)).toBe(false);
  });

  it('a policy that does not parse is refused with the engine error; a failing builtin fails closed', async () => {
    const p = new RegoKbsPolicy(defaultRegoEngineFactory);
    await expect(p.setResourcePolicy('package policy\nallow {')).rejects.toThrow(/resource-policy\.rego/);
    await p.setResourcePolicy('package policy\nallow { to_number(input.submods.cpu0["ear.status"]) > 0 }\n');
    await expect(p.allowResource(claims('snp', 'affirming'), req)).rejects.toThrow();
  });
});

describe('KBS server with Rego policies', () => {
  let dir: string | undefined;
  let server: KbsServer | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function start(now?: () => number) {
    dir = mkdtempSync(path.join(tmpdir(), 'kbs-rego-'));
    const admin = generateKeyPairSync('ed25519');
    server = new KbsServer({
      resourceDir: dir,
      policy: new RegoKbsPolicy(defaultRegoEngineFactory),
      admin: { mode: 'ed25519', publicKey: admin.publicKey },
      sessionTimeoutMs: 60_000,
      ...(now ? { now } : {}),
    });
    const base = (await server.listen(0)) + '/kbs/v0';
    const bearer = { authorization: `Bearer ${await signAdminToken(admin.privateKey)}` };
    return { base, bearer };
  }
  async function attested(base: string, pub: TeePubkey): Promise<{ token: string; cookie: string } | Response> {
    const a = await fetch(base + '/auth', {
      method: 'POST',
      body: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }),
    });
    const { nonce } = (await a.json()) as { nonce: string };
    const cookie = a.headers.get('set-cookie')!.split(';')[0]!;
    const ev = await new SampleAttester().getEvidence(runtimeDataDigest(primaryRuntimeData(nonce, pub, '')));
    const r = await fetch(base + '/attest', {
      method: 'POST',
      headers: { cookie },
      body: JSON.stringify({
        'runtime-data': { nonce, 'tee-pubkey': pub },
        'tee-evidence': { primary_evidence: ev, additional_evidence: '' },
      }),
    });
    if (r.status !== 200) return r;
    return { token: ((await r.json()) as { token: string }).token, cookie };
  }

  it('refuses sample by default, releases after the admin sets allow_all; P-521 and RSA-OAEP-256 keys', async () => {
    const { base, bearer } = await start();
    expect(
      (await fetch(base + '/resource/default/key/1', { method: 'POST', headers: bearer, body: 'rego-secret' })).status,
    ).toBe(200);
    for (const kind of ['P-521', 'RSA'] as const) {
      const tee = generateTeeKeyPair(kind);
      const s = (await attested(base, tee.publicJwk)) as { token: string };
      const denied = await fetch(base + '/resource/default/key/1', { headers: { authorization: `Bearer ${s.token}` } });
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { type: string }).type).toMatch(/errors\/PolicyDeny$/);
    }
    const set = await fetch(base + '/resource-policy', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ policy: Buffer.from(ALLOW_ALL_RESOURCE_POLICY).toString('base64url') }),
    });
    expect(set.status).toBe(200);
    for (const kind of ['P-521', 'RSA'] as const) {
      const tee = generateTeeKeyPair(kind);
      const s = (await attested(base, tee.publicJwk)) as { token: string };
      const r = await fetch(base + '/resource/default/key/1', { headers: { authorization: `Bearer ${s.token}` } });
      expect(r.status).toBe(200);
      const { plaintext, protectedHeader } = await flattenedDecrypt((await r.json()) as never, tee.privateKey);
      expect(Buffer.from(plaintext).toString()).toBe('rego-secret');
      expect(protectedHeader?.alg).toBe(kind === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW');
    }
    const bad = await fetch(base + '/resource-policy', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ policy: Buffer.from('package policy\nallow {').toString('base64url') }),
    });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { type: string }).type).toMatch(/errors\/PolicyEngineError$/);
  });

  it('reference values set through the admin API change the appraisal (executables)', async () => {
    const { base, bearer } = await start();
    const before = await server!.policy.appraise({ snp: { measurement: 'ab'.repeat(48) } }, 'snp');
    expect(before.trustVector.executables).toBe(33);
    const r = await fetch(base + '/reference-value', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ measurement: ['ab'.repeat(48)] }),
    });
    expect(r.status).toBe(200);
    const after = await server!.policy.appraise({ snp: { measurement: 'ab'.repeat(48) } }, 'snp');
    expect(after.trustVector).toMatchObject({ executables: 3, hardware: 2 });
    const bad = await fetch(base + '/reference-value', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ measurement: 'AB' }),
    });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(
      /"measurement" must be a list of lower-case hex strings/,
    );
    const unauth = await fetch(base + '/reference-value', { method: 'POST', body: '{}' });
    expect(unauth.status).toBe(401);
  });

  it('an expired session cookie is refused (ExpiredCookie), a fresh /auth works', async () => {
    let t = Date.now();
    const { base } = await start(() => t);
    const a = await fetch(base + '/auth', {
      method: 'POST',
      body: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }),
    });
    const cookie = a.headers.get('set-cookie')!.split(';')[0]!;
    t += 61_000;
    const r = await fetch(base + '/attest', { method: 'POST', headers: { cookie }, body: '{}' });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { type: string }).type).toMatch(/errors\/ExpiredCookie$/);
    const ok = await attested(base, generateTeeKeyPair().publicJwk);
    expect('token' in ok).toBe(true);
  });
});

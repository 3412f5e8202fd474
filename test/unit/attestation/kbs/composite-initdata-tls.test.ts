/* eslint-disable @typescript-eslint/no-explicit-any -- decoded tokens and JWEs are inspected as plain JSON */
/**
 * KBS + client beyond the basic flow: init-data sent at /attest (digest must match the evidence, claims reach the
 * token and the resource policy), additional device evidence (sampledevice → gpu0, bound to the device runtime data),
 * and an https KBS whose certificate the guest takes from initdata.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SampleAttester, SampleDeviceAttester } from '../../../../attestation/agent/index.js';
import { guestKbsConfigFromInitdata } from '../../../../attestation/cdh/index.js';
import { parseInitdataToml } from '../../../../attestation/initdata/index.js';
import {
  defaultRegoEngineFactory,
  deviceRuntimeData,
  generateTeeKeyPair,
  KbsClient,
  KbsError,
  KbsServer,
  KbsUnavailableError,
  primaryRuntimeData,
  RegoKbsPolicy,
  runtimeDataDigest,
  SAMPLE_ALLOWING_RESOURCE_POLICY,
} from '../../../../attestation/kbs/index.js';

/** Resource policy reading init_data_claims: only guests whose initdata points at this KBS get default/key/*. */
const INITDATA_POLICY = `package policy
default allow := false
allow {
  data.plugin == "resource"
  input.submods.cpu0["ear.veraison.annotated-evidence"].init_data_claims["cdh.toml"].kbc.url == "https://kbs.test"
}
`;

const toml = (url: string, extra = ''): string =>
  `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = '''\n[kbc]\nname = "cc_kbc"\nurl = "${url}"\n${extra}'''\n`;

let dir: string;
let server: KbsServer;
let url: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kbs-more-'));
  server = new KbsServer({
    resourceDir: dir,
    policy: new RegoKbsPolicy(defaultRegoEngineFactory, { resourcePolicy: INITDATA_POLICY }),
    admin: { mode: 'deny-all' },
  });
  url = await server.listen(0);
  await server.store.set(['default', 'key', 'k'], Buffer.from('initdata-gated'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('init-data at the KBS', () => {
  it('claims reach the token and the resource policy; a different initdata is refused by policy', async () => {
    const good = toml('https://kbs.test');
    const c = new KbsClient({
      url,
      attester: new SampleAttester({ initdataDigest: parseInitdataToml(good).digest }),
      initdataToml: good,
    });
    expect((await c.getResource('kbs:///default/key/k')).toString()).toBe('initdata-gated');
    const claims = JSON.parse(Buffer.from((await c.getToken()).split('.')[1]!, 'base64url').toString()) as any;
    expect(claims.submods.cpu0['ear.veraison.annotated-evidence'].init_data).toBe(
      parseInitdataToml(good).digest.toString('hex'),
    );
    const other = toml('https://elsewhere.test');
    const c2 = new KbsClient({
      url,
      attester: new SampleAttester({ initdataDigest: parseInitdataToml(other).digest }),
      initdataToml: other,
    });
    await expect(c2.getResource('default/key/k')).rejects.toMatchObject({ variant: 'PolicyDeny' });
  });

  it('init-data whose digest the evidence does not carry is refused at /attest', async () => {
    const sent = toml('https://kbs.test');
    const bound = toml('https://kbs.test', '# one more byte\n');
    const c = new KbsClient({
      url,
      attester: new SampleAttester({ initdataDigest: parseInitdataToml(bound).digest }),
      initdataToml: sent,
      retry: { attempts: 1 },
    });
    const err = (await c.getToken().catch((e: unknown) => e)) as KbsError;
    expect(err).toBeInstanceOf(KbsError);
    expect(err.variant).toBe('AttestationFailed');
    expect(err.message).toMatch(/RCAR handshake Attest failed: .*init/i);
    const bad = new KbsClient({
      url,
      attester: new SampleAttester(),
      initdataToml: 'not = [toml',
      retry: { attempts: 1 },
    });
    await expect(bad.getToken()).rejects.toMatchObject({ variant: 'InvalidRequest' });
  });
});

describe('additional device evidence', () => {
  it('sampledevice evidence becomes submod gpu0, bound to the device runtime data', async () => {
    const good = toml('https://kbs.test');
    const c = new KbsClient({
      url,
      attester: new SampleAttester({ initdataDigest: parseInitdataToml(good).digest }),
      additionalAttesters: [new SampleDeviceAttester()],
      initdataToml: good,
    });
    const claims = JSON.parse(Buffer.from((await c.getToken()).split('.')[1]!, 'base64url').toString()) as any;
    expect(Object.keys(claims.submods).sort()).toEqual(['cpu0', 'gpu0']);
    expect(claims.submods.gpu0['ear.veraison.annotated-evidence'].sampledevice).toBeDefined();
    expect((await c.getResource('default/key/k')).toString()).toBe('initdata-gated');
  });

  it('device evidence bound to another key is refused (no swapping GPU evidence)', async () => {
    const a = await fetch(url + '/kbs/v0/auth', {
      method: 'POST',
      body: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }),
    });
    const { nonce } = (await a.json()) as { nonce: string };
    const cookie = a.headers.get('set-cookie')!.split(';')[0]!;
    const tee = generateTeeKeyPair();
    const other = generateTeeKeyPair();
    const device = await new SampleDeviceAttester().getEvidence(
      runtimeDataDigest(deviceRuntimeData(nonce, other.publicJwk)),
    );
    const additional = JSON.stringify({ sampledevice: device });
    const primary = await new SampleAttester().getEvidence(
      runtimeDataDigest(primaryRuntimeData(nonce, tee.publicJwk, additional)),
    );
    const r = await fetch(url + '/kbs/v0/attest', {
      method: 'POST',
      headers: { cookie },
      body: JSON.stringify({
        'runtime-data': { nonce, 'tee-pubkey': tee.publicJwk },
        'tee-evidence': { primary_evidence: primary, additional_evidence: additional },
      }),
    });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/sampledevice evidence: .*Report Data Mismatch/);
  });
});

const haveOpenssl = ['/usr/bin/openssl', '/bin/openssl', '/usr/local/bin/openssl'].some((p) => existsSync(p));
if (!haveOpenssl) console.warn('skipping the https KBS test: openssl (to make a test certificate) is missing');

describe('https KBS', () => {
  it.skipIf(!haveOpenssl)(
    'the guest trusts the KBS certificate given in initdata (kbs_cert) and nothing else',
    async () => {
      const tdir = mkdtempSync(path.join(tmpdir(), 'kbs-tls-'));
      try {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=127.0.0.1',
            '-addext',
            'subjectAltName=IP:127.0.0.1',
            '-keyout',
            path.join(tdir, 'key.pem'),
            '-out',
            path.join(tdir, 'cert.pem'),
          ],
          { stdio: 'ignore' },
        );
        const cert = readFileSync(path.join(tdir, 'cert.pem'), 'utf8');
        const tls = new KbsServer({
          resourceDir: path.join(tdir, 'res'),
          policy: new RegoKbsPolicy(defaultRegoEngineFactory, { resourcePolicy: SAMPLE_ALLOWING_RESOURCE_POLICY }),
          admin: { mode: 'deny-all' },
          tls: { cert, key: readFileSync(path.join(tdir, 'key.pem')) },
        });
        const tlsUrl = await tls.listen(0);
        expect(tlsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        await tls.store.set(['default', 'key', 'k'], Buffer.from('over-tls'));
        try {
          const text = toml('https://kbs.test').replace(
            'url = "https://kbs.test"',
            `url = "${tlsUrl}"\nkbs_cert = """\n${cert}"""`,
          );
          const initdata = parseInitdataToml(text);
          const cfg = guestKbsConfigFromInitdata(initdata);
          expect(cfg.url).toBe(tlsUrl);
          const c = new KbsClient({
            url: cfg.url,
            certPem: cfg.cert!,
            attester: new SampleAttester({ initdataDigest: initdata.digest }),
            initdataToml: text,
          });
          expect((await c.getResource('default/key/k')).toString()).toBe('over-tls');
          await c.close();
          const untrusting = new KbsClient({ url: cfg.url, attester: new SampleAttester(), retry: { attempts: 1 } });
          const err = await untrusting.getToken().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(KbsUnavailableError);
          expect((err as Error).message).toMatch(/self[- ]signed|certificate/i);
        } finally {
          await tls.close();
        }
      } finally {
        rmSync(tdir, { recursive: true, force: true });
      }
    },
  );
});

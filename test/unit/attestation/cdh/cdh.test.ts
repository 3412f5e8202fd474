/**
 * Confidential Data Hub: GetResource by kbs:/// URI, sealed-secret keys from the KBS or from the key directory,
 * unsealing in env vars and volume files as the Kata agent does, and the KBS settings from initdata.
 */
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfidentialDataHub,
  guestKbsConfigFromInitdata,
  parseResourceUri,
  shouldUnsealMount,
  unsealEnv,
  unsealVolumeDir,
} from '../../../../attestation/cdh/index.js';
import { parseInitdataToml } from '../../../../attestation/initdata/index.js';
import { buildVaultPayload, generateSealingKeyPair, sealSecret } from '../../../../attestation/sealed/index.js';

const vectors = path.resolve(__dirname, '../../../../../shared/vectors/sealed');
const VECTOR = readFileSync(path.join(vectors, 'precreated-test.sealed'), 'utf8').trim();

class FakeKbs {
  calls: string[] = [];
  constructor(private readonly store: Record<string, Buffer | string>) {}
  async getResource(p: string): Promise<Buffer> {
    this.calls.push(p);
    const v = this.store[p];
    if (v === undefined) throw new Error(`resource ${p} not found`);
    return Buffer.from(v);
  }
}

let dir: string;
const keys = generateSealingKeyPair('local-key');
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cdh-'));
  mkdirSync(path.join(dir, 'keys'));
  writeFileSync(path.join(dir, 'keys', 'local-key'), JSON.stringify(keys.publicJwk));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kbsStore = {
  'default/sealed-secret/test': 'unsealed_secret',
  'default/signing-key/sealed-secret': readFileSync(path.join(vectors, 'signing-public.jwk.json')),
  'default/key/db': 'db-pass',
};

describe('CDH', () => {
  it('GetResource maps kbs:///repo/type/tag to the KBS path and refuses bad URIs', async () => {
    const kbs = new FakeKbs(kbsStore);
    const cdh = new ConfidentialDataHub({ kbs });
    expect((await cdh.getResource('kbs:///default/key/db')).toString()).toBe('db-pass');
    expect((await cdh.getResource('kbs://kbs.example:8080/default/key/db')).toString()).toBe('db-pass');
    expect(kbs.calls).toEqual(['default/key/db', 'default/key/db']);
    expect(parseResourceUri('kbs:///a/b/c')).toEqual({ kbsAddress: '', repository: 'a', type: 'b', tag: 'c' });
    for (const bad of ['kbs:///a/b', 'kbs:///a/../c', 'http:///a/b/c', 'kbs:///a/b/c/d']) {
      await expect(cdh.getResource(bad)).rejects.toThrow(/resource URI|invalid segment/);
    }
  });

  it('unseals the Kata CI vector with its key from the KBS, and our secret with a key file; refuses traversal', async () => {
    const kbs = new FakeKbs(kbsStore);
    const cdh = new ConfidentialDataHub({ kbs, sealedKeyDir: path.join(dir, 'keys') });
    expect((await cdh.unsealSecret(VECTOR)).toString()).toBe('unsealed_secret');
    expect(kbs.calls).toEqual(['default/signing-key/sealed-secret', 'default/sealed-secret/test']);
    const ours = await sealSecret(buildVaultPayload('kbs:///default/key/db'), {
      kid: 'local-key',
      privateJwk: keys.privateJwk,
    });
    expect((await cdh.unsealSecret(ours)).toString()).toBe('db-pass');
    const traversal = await sealSecret(buildVaultPayload('kbs:///default/key/db'), {
      kid: '../keys/local-key',
      privateJwk: keys.privateJwk,
    });
    await expect(cdh.unsealSecret(traversal)).rejects.toThrow(/neither a kbs:\/\/\/ URI nor a plain file name/);
    const missing = await sealSecret(buildVaultPayload('kbs:///default/key/db'), {
      kid: 'absent-key',
      privateJwk: keys.privateJwk,
    });
    await expect(cdh.unsealSecret(missing)).rejects.toThrow(/absent-key cannot be read: ENOENT/);
  });

  it('env: KEY=sealed.… becomes the plaintext, other values untouched; failure names the variable, not the value', async () => {
    const cdh = new ConfidentialDataHub({ kbs: new FakeKbs(kbsStore) });
    expect(await unsealEnv([`A=${VECTOR}`, 'B=notsealed.x', 'C=', 'NOEQ'], cdh)).toEqual([
      'A=unsealed_secret',
      'B=notsealed.x',
      'C=',
      'NOEQ',
    ]);
    const tampered = VECTOR.slice(0, -3) + (VECTOR.endsWith('AAA') ? 'BBB' : 'AAA');
    const err = (await unsealEnv([`SECRET_ENV=${tampered}`], cdh).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/unsealing env SECRET_ENV failed: .*signature verification/);
    expect(err.message).not.toContain(tampered);
  });

  it('volume files: sealed entries become symlinks to <file>.unsealed; hosts/resolv.conf and plain files are left', async () => {
    const shared = path.join(dir, 'run/kata-containers/shared/containers');
    const vol = path.join(shared, 'ctr1-abc-secret-vol');
    const data = path.join(vol, '..data');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, 'password'), VECTOR + '\n', { mode: 0o640 });
    symlinkSync('..data/password', path.join(vol, 'password')); // how kubelet lays out secret volumes
    writeFileSync(path.join(vol, 'direct'), VECTOR);
    writeFileSync(path.join(vol, 'plain'), 'not a secret');
    writeFileSync(path.join(vol, 'hosts'), VECTOR);
    const cdh = new ConfidentialDataHub({ kbs: new FakeKbs(kbsStore) });
    const done = await unsealVolumeDir(vol, cdh);
    expect(done.sort()).toEqual([path.join(vol, 'direct'), path.join(vol, 'password')]);
    expect(readlinkSync(path.join(vol, 'password'))).toBe('..data/password.unsealed');
    expect(readFileSync(path.join(vol, 'password'), 'utf8')).toBe('unsealed_secret');
    expect(statSync(path.join(data, 'password.unsealed')).mode & 0o777).toBe(0o640);
    expect(lstatSync(path.join(vol, 'direct')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(vol, 'direct'), 'utf8')).toBe('unsealed_secret');
    expect(readFileSync(path.join(vol, 'plain'), 'utf8')).toBe('not a secret');
    expect(readFileSync(path.join(vol, 'hosts'), 'utf8')).toBe(VECTOR);
    expect(shouldUnsealMount(vol, shared)).toBe(true);
    expect(shouldUnsealMount(path.join(shared, 'ctr1-resolv.conf'), shared)).toBe(true);
    expect(shouldUnsealMount(path.join(shared, 'x', 'serviceaccount'), shared)).toBe(false);
    expect(shouldUnsealMount('/etc', shared)).toBe(false);
    // idempotent: a second scan finds nothing sealed
    expect(await unsealVolumeDir(vol, cdh)).toEqual([]);
  });

  it('KBS URL and certificate come from initdata (cdh.toml wins over aa.toml); errors name the file and key', () => {
    const toml = (cdh: string, aa: string) =>
      `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = '''\n${cdh}\n'''\n"aa.toml" = '''\n${aa}\n'''\n`;
    const id = parseInitdataToml(
      toml(
        '[kbc]\nname = "cc_kbc"\nurl = "https://kbs.example:8080"\nkbs_cert = "PEM"\nskip_sealed_secret_verification = false',
        '[token_configs.kbs]\nurl = "http://other"',
      ),
    );
    expect(guestKbsConfigFromInitdata(id)).toEqual({
      url: 'https://kbs.example:8080',
      cert: 'PEM',
      credentials: [],
      skipSealedSecretVerification: false,
    });
    const aaOnly = parseInitdataToml(
      toml('socket = "x"', '[token_configs.kbs]\nurl = "http://aa.example"\ncert = "AA-PEM"'),
    );
    expect(guestKbsConfigFromInitdata(aaOnly)).toMatchObject({ url: 'http://aa.example', cert: 'AA-PEM' });
    expect(() => guestKbsConfigFromInitdata(parseInitdataToml(toml('socket = "x"', 'x = 1')))).toThrow(/no KBS URL/);
    expect(() => guestKbsConfigFromInitdata(parseInitdataToml(toml('[kbc]\nname = "offline_fs_kbc"', '')))).toThrow(
      /cdh\.toml kbc\.name: only "cc_kbc"/,
    );
    expect(() => guestKbsConfigFromInitdata(parseInitdataToml(toml('[kbc]\nurl = "ftp://x"', '')))).toThrow(
      /cdh\.toml kbc\.url: ftp:\/\/x must be http/,
    );
  });
});

/** Docker credential helpers (credsStore / credHelpers) run as real programs found through PATH. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialsFromDockerConfig, helperServerUrl, runCredentialHelper } from '../../../../policy/oci/index.js';

const bin = mkdtempSync(path.join(tmpdir(), 'ccgpu-cred-helpers-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };

function helper(name: string, script: string): void {
  const file = path.join(bin, `docker-credential-${name}`);
  writeFileSync(file, `#!/bin/sh\n[ "$1" = get ] || exit 3\nurl=$(cat)\n${script}\n`);
  chmodSync(file, 0o755);
}

// a keychain-like store: Docker Hub under its v1 URL, an identity token for ghcr.io, nothing else
helper(
  'ccgpustore',
  `case "$url" in
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hub-secret"}' "$url" ;;
  ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"<token>","Secret":"refresh-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
);
helper('ccgpunvcr', `printf '{"ServerURL":"%s","Username":"$oauthtoken","Secret":"ngc-key"}' "$url"`);
helper('ccgpubroken', 'echo "dbus: no session" >&2; exit 2');
helper('ccgpujunk', 'echo "not json"');

describe('docker credential helpers', () => {
  it('asks Docker Hub under its v1 URL and other registries by host', () => {
    expect(helperServerUrl('docker.io')).toBe('https://index.docker.io/v1/');
    expect(helperServerUrl('nvcr.io')).toBe('nvcr.io');
    expect(runCredentialHelper('ccgpustore', 'docker.io', { env })).toEqual({
      kind: 'found',
      credentials: { username: 'hubuser', password: 'hub-secret' },
    });
    expect(runCredentialHelper('ccgpustore', 'ghcr.io', { env })).toEqual({ kind: 'identity-token' });
    expect(runCredentialHelper('ccgpustore', 'quay.io', { env })).toEqual({ kind: 'not-found' });
  });

  it('uses credHelpers per registry, then credsStore, then the auths entries', () => {
    const lookup = credentialsFromDockerConfig(
      {
        credsStore: 'ccgpustore',
        credHelpers: { 'nvcr.io': 'ccgpunvcr' },
        auths: {
          'quay.io': { auth: Buffer.from('quser:qpass').toString('base64') },
          'https://index.docker.io/v1/': {},
        },
      },
      'config.json',
      undefined,
      env,
    );
    expect(lookup('nvcr.io')).toEqual({ username: '$oauthtoken', password: 'ngc-key' });
    expect(lookup('docker.io')).toEqual({ username: 'hubuser', password: 'hub-secret' });
    expect(lookup('quay.io')).toEqual({ username: 'quser', password: 'qpass' }); // store has none → auths
    expect(lookup('ghcr.io')).toBeUndefined(); // identity token → anonymous, as genpolicy
    expect(lookup('registry.example.com')).toBeUndefined();
  });

  it('fails clearly for a missing, failing or garbled helper and a bad config', () => {
    const failing = (name: string) =>
      credentialsFromDockerConfig({ credHelpers: { 'nvcr.io': name } }, 'config.json', undefined, env);
    expect(() => failing('ccgpumissing')('nvcr.io')).toThrow(
      /docker-credential-ccgpumissing \(for nvcr\.io\) is not installed or not in PATH/,
    );
    expect(() => failing('ccgpubroken')('nvcr.io')).toThrow(/docker-credential-ccgpubroken exited with 2 .*dbus/);
    expect(() => failing('ccgpujunk')('nvcr.io')).toThrow(/docker-credential-ccgpujunk gave no JSON answer/);
    expect(() => failing('../../bin/sh')('nvcr.io')).toThrow(/is not a plain name/);
    expect(() => credentialsFromDockerConfig({ credsStore: 42 }, '/h/config.json')).toThrow(
      /\/h\/config\.json: "credsStore" must be a helper name/,
    );
    expect(() => credentialsFromDockerConfig({ credHelpers: { 'nvcr.io': '' } }, 'c.json')).toThrow(
      /credHelpers\["nvcr\.io"\] must be a helper name/,
    );
  });
});

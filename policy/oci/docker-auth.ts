/**
 * Registry credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
 * `credHelpers` (per registry) and `credsStore` (all registries) credential helpers first, then the `auths` map,
 * each entry either `auth` = base64("user:password") or `username`/`password`. Identity tokens cannot be used as a
 * password for pulls (a warning says so); the pull then goes anonymous, as genpolicy does.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { runCredentialHelper } from './credential-helpers.js';
import { OciError } from './errors.js';
import { DOCKER_HUB } from './reference.js';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Looks up credentials for a registry host (as written in the image reference, e.g. `docker.io`). */
export type CredentialLookup = (registry: string) => RegistryCredentials | undefined;

export const anonymous: CredentialLookup = () => undefined;

/** `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/path` → `host:5000`. */
export function normaliseAuthKey(key: string): string {
  let k = key.trim();
  k = k.replace(/^[a-z]+:\/\//i, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  k = k.toLowerCase();
  if (k === 'index.docker.io' || k === 'registry-1.docker.io' || k === 'registry.hub.docker.com') return DOCKER_HUB;
  return k;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG ?? path.join(homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/**
 * Parse a Docker config document into a lookup; `file` is only for error messages. `env` is the environment the
 * credential helpers run with (PATH lookup included); default `process.env`.
 */
export function credentialsFromDockerConfig(
  doc: unknown,
  file: string,
  logger?: Logger,
  env?: NodeJS.ProcessEnv,
): CredentialLookup {
  if (!doc || typeof doc !== 'object') throw new OciError(`${file}: expected a JSON object`);
  const auths = (doc as { auths?: unknown }).auths;
  const table = new Map<string, RegistryCredentials>();
  if (auths !== undefined) {
    if (!auths || typeof auths !== 'object') throw new OciError(`${file}: "auths" must be an object`);
    for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
      if (!entry || typeof entry !== 'object') throw new OciError(`${file}: auths["${key}"] must be an object`);
      const e = entry as { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown };
      let creds: RegistryCredentials | undefined;
      if (typeof e.auth === 'string' && e.auth !== '') {
        const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon <= 0) throw new OciError(`${file}: auths["${key}"].auth is not base64 of "user:password"`);
        creds = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      } else if (typeof e.username === 'string' && typeof e.password === 'string') {
        creds = { username: e.username, password: e.password };
      }
      if (!creds && typeof e.identitytoken === 'string') {
        logger?.warn({ registry: key }, 'docker config: identity tokens are not supported, pulling anonymously');
      }
      if (creds) table.set(normaliseAuthKey(key), creds);
    }
  }
  const { credsStore, credHelpers } = doc as { credsStore?: unknown; credHelpers?: unknown };
  if (credsStore !== undefined && (typeof credsStore !== 'string' || credsStore === ''))
    throw new OciError(`${file}: "credsStore" must be a helper name`);
  const helperFor = new Map<string, string>();
  if (credHelpers !== undefined) {
    if (!credHelpers || typeof credHelpers !== 'object' || Array.isArray(credHelpers))
      throw new OciError(`${file}: "credHelpers" must be an object of registry → helper name`);
    for (const [key, name] of Object.entries(credHelpers as Record<string, unknown>)) {
      if (typeof name !== 'string' || name === '')
        throw new OciError(`${file}: credHelpers["${key}"] must be a helper name`);
      helperFor.set(normaliseAuthKey(key), name);
    }
  }
  const resolved = new Map<string, RegistryCredentials | undefined>();
  return (registry) => {
    const key = normaliseAuthKey(registry);
    if (resolved.has(key)) return resolved.get(key);
    let creds: RegistryCredentials | undefined;
    const helper = helperFor.get(key) ?? (typeof credsStore === 'string' ? credsStore : undefined);
    if (helper) {
      const r = runCredentialHelper(helper, key, { ...(env ? { env } : {}), ...(logger ? { logger } : {}) });
      if (r.kind === 'found') creds = r.credentials;
      else if (r.kind === 'identity-token')
        logger?.warn(
          { registry: key, helper },
          'docker credential helper returned an identity token, which cannot be used for pulls; trying anonymously',
        );
    }
    creds ??= table.get(key);
    resolved.set(key, creds);
    return creds;
  };
}

/** Load the Docker config file; a missing file means anonymous access, a malformed one is an error. */
export function loadDockerCredentials(
  opts: { file?: string; env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): CredentialLookup {
  const file = opts.file ?? dockerConfigPath(opts.env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return anonymous;
    throw new OciError(`cannot read docker config ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new OciError(`docker config ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return credentialsFromDockerConfig(doc, file, opts.logger, opts.env);
}

/**
 * Registry credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
 * the `auths` map, each entry either `auth` = base64("user:password") or `username`/`password`.
 * Identity tokens and credential helpers are not used (a warning says so); the pull then goes anonymous.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
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

/** Parse a Docker config document into a lookup; `file` is only for error messages. */
export function credentialsFromDockerConfig(doc: unknown, file: string, logger?: Logger): CredentialLookup {
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
  const helpers = doc as { credsStore?: unknown; credHelpers?: unknown };
  if (helpers.credsStore !== undefined || helpers.credHelpers !== undefined) {
    logger?.warn({ file }, 'docker config: credential helpers are not supported; only "auths" entries are used');
  }
  return (registry) => table.get(normaliseAuthKey(registry));
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
  return credentialsFromDockerConfig(doc, file, opts.logger);
}

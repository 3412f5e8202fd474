/**
 * Docker credential helpers (`credsStore` / `credHelpers` in the Docker config): the program
 * `docker-credential-<name>` is run with the argument `get`, the registry's server URL on stdin, and answers
 * `{"ServerURL": ..., "Username": ..., "Secret": ...}` on stdout (non-zero exit when it has nothing). A Username of
 * `<token>` means the Secret is an identity token, which a registry pull cannot use as a password.
 * Secrets are never logged.
 */
import { spawnSync } from 'node:child_process';
import type { Logger } from 'pino';
import { OciError } from './errors.js';
import { DOCKER_HUB } from './reference.js';

export interface HelperCredentials {
  readonly username: string;
  readonly password: string;
}

export type HelperResult =
  | { readonly kind: 'found'; readonly credentials: HelperCredentials }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'identity-token' };

/** The URL a helper is asked for: Docker Hub keeps its historical v1 URL, other registries their host. */
export function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HELPER_TIMEOUT_MS = 30_000;

/**
 * Runs `docker-credential-<helper> get` for a registry. A missing program, a timeout or an unreadable answer are
 * errors (naming the helper and registry); "credentials not found" is a normal result.
 */
export function runCredentialHelper(
  helper: string,
  registry: string,
  opts: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): HelperResult {
  if (!HELPER_NAME.test(helper))
    throw new OciError(`docker config: credential helper name ${JSON.stringify(helper)} is not a plain name`);
  const program = `docker-credential-${helper}`;
  const serverUrl = helperServerUrl(registry);
  const r = spawnSync(program, ['get'], {
    input: serverUrl,
    encoding: 'utf8',
    timeout: HELPER_TIMEOUT_MS,
    env: opts.env ?? process.env,
    maxBuffer: 1024 * 1024,
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new OciError(
        `docker config: credential helper ${program} (for ${registry}) is not installed or not in PATH`,
      );
    throw new OciError(`docker config: credential helper ${program} failed for ${registry}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const msg = (r.stdout || r.stderr || '').trim();
    if (/credentials not found/i.test(msg)) {
      opts.logger?.debug({ helper: program, registry }, 'credential helper has no credentials');
      return { kind: 'not-found' };
    }
    throw new OciError(
      `docker config: credential helper ${program} exited with ${r.status ?? r.signal} for ${registry}: ${msg.slice(0, 200)}`,
    );
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new OciError(`docker config: credential helper ${program} gave no JSON answer for ${registry}`);
  }
  if (typeof doc.Username !== 'string' || typeof doc.Secret !== 'string')
    throw new OciError(
      `docker config: credential helper ${program} answer for ${registry} lacks string "Username" and "Secret"`,
    );
  if (doc.Username === '<token>') return { kind: 'identity-token' };
  if (doc.Username === '' && doc.Secret === '') return { kind: 'not-found' };
  return { kind: 'found', credentials: { username: doc.Username, password: doc.Secret } };
}

/**
 * Confidential Data Hub (guest): KBS resources by URI, sealed-secret unsealing with signature keys from the KBS
 * (`kid` = resource URI) or from local files (`kid` = a file name under the sealed-secret key directory).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import type { Logger } from 'pino';
import { kbsSecretProvider, SealedSecretError, unsealSecret, type SecretProvider } from '../sealed/index.js';
import { redactingLogger } from '../kbs/log-redaction.js';
import { isResourceUri, parseResourceUri, resourcePath } from './resource-uri.js';

export const SEALED_SECRET_KEY_DIR = '/run/confidential-containers/cdh/sealed-secret';

/** Anything that fetches and decrypts KBS resources (the KBS client). */
export interface ResourceFetcher {
  getResource(path: string): Promise<Buffer>;
}

export interface CdhOptions {
  kbs: ResourceFetcher;
  /** Where `kid` files live when `kid` is not a KBS URI. */
  sealedKeyDir?: string;
  /** INSECURE: accept unsigned legacy sealed secrets (cdh.toml skip_sealed_secret_verification). */
  skipSealedSecretVerification?: boolean;
  /** Extra providers (aliyun, ehsm, ...) besides the built-in `kbs`. */
  providers?: Record<string, SecretProvider>;
  logger?: Logger;
}

const KID_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export class ConfidentialDataHub {
  private readonly log: Logger;
  private readonly keyDir: string;
  constructor(private readonly opts: CdhOptions) {
    this.log = redactingLogger(opts.logger, { component: 'cdh' });
    this.keyDir = opts.sealedKeyDir ?? SEALED_SECRET_KEY_DIR;
    if (opts.skipSealedSecretVerification) this.log.warn('sealed secret signature verification is DISABLED (insecure)');
  }

  /** `GetResource(kbs:///repo/type/tag)`. */
  async getResource(uri: string): Promise<Buffer> {
    const u = parseResourceUri(uri);
    const value = await this.opts.kbs.getResource(resourcePath(u));
    this.log.info({ uri }, 'CDH: resource fetched');
    return value;
  }

  /** The ES256 public key named by `kid`. */
  async signingKey(kid: string): Promise<JWK> {
    let text: Buffer;
    if (isResourceUri(kid)) {
      text = await this.getResource(kid);
    } else {
      if (!KID_FILE.test(kid) || kid.includes('..')) {
        throw new SealedSecretError(
          `sealed secret: kid ${JSON.stringify(kid)} is neither a kbs:/// URI nor a plain file name`,
        );
      }
      try {
        text = await fs.readFile(path.join(this.keyDir, kid));
      } catch (e) {
        throw new SealedSecretError(
          `sealed secret: signing key file ${path.join(this.keyDir, kid)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
    }
    try {
      return JSON.parse(text.toString('utf8')) as JWK;
    } catch {
      throw new SealedSecretError(`sealed secret: signing key ${JSON.stringify(kid)} is not a JWK (JSON)`);
    }
  }

  /** `UnsealSecret`: verify and unseal `sealed.<jws>`. */
  async unsealSecret(secret: string | Buffer): Promise<Buffer> {
    const s = typeof secret === 'string' ? secret : secret.toString('utf8');
    const plain = await unsealSecret(s, {
      resolveKey: (kid) => this.signingKey(kid),
      allowUnsigned: this.opts.skipSealedSecretVerification === true,
      providers: { ...(this.opts.providers ?? {}), kbs: kbsSecretProvider((u) => this.getResource(u)) },
    });
    this.log.info('CDH: sealed secret unsealed');
    return plain;
  }
}

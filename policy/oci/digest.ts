/** Content digests: compute and verify (`sha256:` / `sha512:`), for buffers and streams. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, OciError } from './errors.js';
import { DIGEST_PATTERN } from './reference.js';

function algorithmOf(digest: string): 'sha256' | 'sha512' {
  if (!DIGEST_PATTERN.test(digest)) throw new OciError(`unsupported or malformed digest "${digest}"`, { digest });
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function computeDigest(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Throws DigestMismatchError unless `bytes` hash to `digest`. */
export function verifyDigest(bytes: Uint8Array, digest: string, what: string): void {
  const actual = computeDigest(bytes, algorithmOf(digest));
  if (actual !== digest) throw new DigestMismatchError(digest, actual, what);
}

/**
 * Pass-through stream that hashes what flows through it and fails at the end if the content did not hash to
 * `digest` (so a consumer never sees a successful end for tampered content).
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private bytes = 0;
  constructor(
    private readonly digest: string,
    private readonly what: string,
    private readonly expectedSize?: number,
  ) {
    super();
    this.hash = createHash(algorithmOf(digest));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      cb(
        new OciError(`${this.what} is larger than its descriptor's size ${this.expectedSize}`, { digest: this.digest }),
      );
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const actual = `${this.digest.slice(0, this.digest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (actual !== this.digest) {
      cb(new DigestMismatchError(this.digest, actual, this.what));
      return;
    }
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      cb(
        new OciError(`${this.what} has ${this.bytes} bytes, its descriptor says ${this.expectedSize}`, {
          digest: this.digest,
        }),
      );
      return;
    }
    cb();
  }
}

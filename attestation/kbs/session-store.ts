/**
 * RCAR sessions: `/auth` creates one (id in the `kbs-session-id` cookie, a fresh nonce, an expiry); `/attest`
 * consumes its nonce exactly once; an attested session carries the token and claims until it expires.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EarClaims } from './ear-token.js';
import type { HashAlgorithm, KbsTee } from './protocol.js';

export interface Session {
  id: string;
  nonce: string;
  tee: KbsTee;
  hashAlgorithm: HashAlgorithm;
  expiresAt: number;
  /** Set when `/attest` was called (successfully or not): the nonce cannot be used again. */
  nonceConsumed: boolean;
  attested?: { token: string; claims: EarClaims };
}

export class SessionStore {
  private sessions = new Map<string, Session>();
  constructor(
    readonly timeoutMs: number,
    private readonly maxSessions = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(tee: KbsTee, hashAlgorithm: HashAlgorithm): Session {
    this.sweep();
    if (this.sessions.size >= this.maxSessions) throw new Error('too many open KBS sessions');
    const s: Session = {
      id: randomUUID().replace(/-/g, ''),
      nonce: randomBytes(32).toString('base64'),
      tee,
      hashAlgorithm,
      expiresAt: this.now() + this.timeoutMs,
      nonceConsumed: false,
    };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session for an id, `expired` if it timed out, undefined if unknown. */
  get(id: string): Session | 'expired' | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return 'expired';
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const t = this.now();
    if (this.sessions.size < 1024) return;
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(id);
  }
}

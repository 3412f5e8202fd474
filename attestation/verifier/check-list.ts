/**
 * Collects the verification steps of one evidence. A result is ok only if at least one check ran and all passed:
 * anything not explicitly passed counts as a failure (fail closed).
 */
import type { Logger } from 'pino';
import type { Check, Tee, VerificationResult } from './types.js';

export class CheckList {
  readonly checks: Check[] = [];
  constructor(private readonly logger?: Logger) {}

  add(name: string, ok: boolean, reason?: string): boolean {
    const c: Check = { name, ok };
    if (reason !== undefined) c.reason = reason;
    else if (!ok) c.reason = 'failed';
    this.checks.push(c);
    this.logger?.debug({ check: name, ok, reason }, 'attestation check');
    return ok;
  }

  pass(name: string, reason?: string): true {
    this.add(name, true, reason);
    return true;
  }

  fail(name: string, reason: string): false {
    this.add(name, false, reason);
    return false;
  }

  /** Run `fn`; a thrown error becomes a failed check carrying its message. Returns fn's value or undefined. */
  attempt<T>(name: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.fail(name, e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }

  get ok(): boolean {
    return this.checks.length > 0 && this.checks.every((c) => c.ok);
  }

  result(tee: Tee, claims: Record<string, unknown>): VerificationResult {
    return { ok: this.ok, tee, claims, checks: this.checks };
  }
}

/**
 * Run a verifier body; an unexpected exception (a bug or an input shape no check anticipated) becomes a failed
 * `internal` check instead of escaping, so callers always get a result and nothing passes by accident.
 */
export async function guarded(
  tee: Tee,
  checks: CheckList,
  claims: () => Record<string, unknown>,
  body: () => Promise<VerificationResult>,
): Promise<VerificationResult> {
  try {
    return await body();
  } catch (e) {
    checks.fail('internal', `verification aborted: ${e instanceof Error ? e.message : String(e)}`);
    let c: Record<string, unknown> = {};
    try {
      c = claims();
    } catch {
      c = {};
    }
    return checks.result(tee, c);
  }
}

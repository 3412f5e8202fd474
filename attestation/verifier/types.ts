/** Result types shared by every verifier (the shape the KBS server consumes). */
import type { Logger } from 'pino';

export type Tee = 'snp' | 'tdx' | 'nvidia' | 'sample';
export const TEES: readonly Tee[] = ['snp', 'tdx', 'nvidia', 'sample'];

/** One verification step: its name, whether it passed, and why (always set for a failure). */
export interface Check {
  name: string;
  ok: boolean;
  reason?: string;
}

export interface VerificationResult {
  /** True only when every check passed (and at least one ran). */
  ok: boolean;
  tee: Tee;
  claims: Record<string, unknown>;
  checks: Check[];
}

/** Options every verifier understands. */
export interface CommonVerifyOptions {
  /** The clock used for certificate and collateral validity; defaults to the current time. */
  now?: Date;
  /** The expected report data (the §1.5 digest); regularized to the TEE's field size (zero-pad / truncate). */
  expectedReportData?: Uint8Array;
  logger?: Logger;
}

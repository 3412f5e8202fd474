/**
 * Defence in depth for logs: every logger the KBS server, client and CDH use is a child with pino redaction of the
 * fields that could carry a secret (resource values, tokens, cookies, keys, plaintexts), whatever the caller passed.
 * The code itself never logs those values; this catches mistakes.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';

const SECRET_FIELDS = [
  'token',
  'cookie',
  'authorization',
  'value',
  'resource',
  'plaintext',
  'secret',
  'key',
  'privateKey',
  'private_key',
  'd',
  'jwe',
  'evidence',
];

export const KBS_REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  'headers.cookie',
  'headers.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
];

/** A child of `logger` (silent when absent) that redacts secret-bearing fields at the top level and one level down. */
export function redactingLogger(logger: Logger | undefined, bindings: Record<string, unknown> = {}): Logger {
  const base = logger ?? pino({ level: 'silent' });
  return base.child(bindings, { redact: { paths: [...KBS_REDACT_PATHS], censor: '[REDACTED]' } });
}

/**
 * Structured logging for host and guest code (shared layer, like ttrpc and protocols).
 *
 * - JSON lines to stderr by default (containerd copies the shim's stderr into its journal);
 * - a human-readable mode for the CLI (`CCGPU_LOG_FORMAT=pretty` or `createLogger({ pretty: true })`);
 * - secret-bearing fields are redacted at any depth we know of; callers must never put a secret in a message string.
 */
import pino from 'pino';
import type { Logger, LoggerOptions, DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Field paths whose values are never written to a log. */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  'token',
  'secret',
  'privateKey',
  'private_key',
  'key',
  'auth',
  'authorization',
  'cookie',
  'credentials',
  'resource',
  'plaintext',
  '*.password',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.private_key',
  '*.key',
  '*.auth',
  '*.authorization',
  '*.cookie',
  '*.credentials',
  '*.plaintext',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface CreateLoggerOptions {
  name?: string;
  level?: string;
  /** Human-readable single-line output (CLI). */
  pretty?: boolean;
  /** Write somewhere other than stderr (tests). */
  destination?: DestinationStream | NodeJS.WritableStream;
  bindings?: Record<string, unknown>;
}

function envLevel(): string | undefined {
  const v = process.env.CCGPU_LOG_LEVEL;
  return v && v.length > 0 ? v : undefined;
}

/** Human mode: `LEVEL msg key=value ...` on one line, still redacted. */
function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  const names: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { level, msg, time: _t, pid: _p, hostname: _h, name: _n, ...rest } = rec;
      const extras = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${names[level as number] ?? String(level)} ${String(msg ?? '')}${extras ? ' ' + extras : ''}\n`);
    },
  };
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? 'ccgpu',
    level: opts.level ?? envLevel() ?? 'info',
    redact: { paths: [...REDACTED_PATHS], censor: '[REDACTED]' },
    base: { pid: process.pid, ...(opts.bindings ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label, number) => ({ level: number, levelName: label }) },
  };
  const pretty = opts.pretty ?? process.env.CCGPU_LOG_FORMAT === 'pretty';
  if (pretty) {
    // pretty mode keeps the numeric level for the formatter
    delete options.formatters;
    return pino(options, prettyStream((opts.destination as NodeJS.WritableStream | undefined) ?? process.stderr));
  }
  const dest = opts.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(options, dest as DestinationStream);
}

/** A logger that writes nothing (libraries default to it when the caller passes none). */
export const silentLogger: Logger = pino({ level: 'silent' });

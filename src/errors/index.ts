/**
 * Typed errors shared by host and guest code. Each carries what it is about (file, field, device, ...) and a
 * gRPC/ttrpc status code so the shim and the agent can answer with the right code.
 */

/** Standard gRPC status codes (ttrpc uses the same numbers). */
export const Code = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export class CcgpuError extends Error {
  readonly code: Code;
  readonly details: Record<string, unknown>;
  constructor(message: string, opts: { code?: Code; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    this.code = opts.code ?? Code.Unknown;
    this.details = opts.details ?? {};
  }
}

/** Bad configuration: names the file, table and key, and what was expected. */
export class ConfigError extends CcgpuError {
  constructor(
    message: string,
    readonly where: { file?: string; table?: string; key?: string; annotation?: string } = {},
    cause?: unknown,
  ) {
    super(message, { code: Code.InvalidArgument, cause, details: { ...where } });
  }
}

/** A device could not be resolved or attached; names the device (path, BDF, CDI name). */
export class DeviceError extends CcgpuError {
  constructor(
    message: string,
    readonly device?: string,
    cause?: unknown,
  ) {
    super(message, { code: Code.FailedPrecondition, cause, details: device ? { device } : {} });
  }
}

export class HypervisorError extends CcgpuError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: Code.Internal, cause });
  }
}

export class NotFoundError extends CcgpuError {
  constructor(message: string) {
    super(message, { code: Code.NotFound });
  }
}

export class AlreadyExistsError extends CcgpuError {
  constructor(message: string) {
    super(message, { code: Code.AlreadyExists });
  }
}

/** A step ran out of time; `step` says which one. */
export class TimeoutError extends CcgpuError {
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
  ) {
    super(`${step} timed out after ${Math.round(timeoutMs / 1000)}s`, {
      code: Code.DeadlineExceeded,
      details: { step },
    });
  }
}

export class UnimplementedError extends CcgpuError {
  constructor(what: string) {
    super(`${what} is not implemented`, { code: Code.Unimplemented });
  }
}

/** The error message of anything thrown, for logs and status messages. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Status code for anything thrown. */
export function errorCode(e: unknown): Code {
  if (e instanceof CcgpuError) return e.code;
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'number') {
    const c = (e as { code: number }).code;
    if (c >= 0 && c <= 16) return c as Code;
  }
  return Code.Unknown;
}

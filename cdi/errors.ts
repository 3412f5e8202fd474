/**
 * Errors raised by the CDI library. Standalone: no dependency on the runtime's error hierarchy; callers map these
 * (the shim turns them into ttrpc status codes).
 */

/** Any CDI failure: a spec that does not parse or validate, a name that does not resolve, a failed edit. */
export class CdiError extends Error {
  /** The spec file the error is about, when there is one. */
  readonly path?: string;
  constructor(message: string, opts: { path?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    if (opts.path !== undefined) this.path = opts.path;
  }
}

/** Some requested CDI device names did not resolve. `unresolved` lists them in request order. */
export class UnresolvableDevicesError extends CdiError {
  constructor(
    message: string,
    readonly unresolved: string[],
  ) {
    super(message);
  }
}

/** Message of any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

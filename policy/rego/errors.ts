/** Errors raised by the Rego engine. Messages carry `file:line:col` where a location is known. */
export class RegoError extends Error {
  constructor(
    message: string,
    readonly code: RegoErrorCode = 'eval_error',
  ) {
    super(message);
    this.name = 'RegoError';
  }
}

export type RegoErrorCode =
  | 'rego_parse_error'
  | 'rego_compile_error'
  | 'eval_error'
  | 'eval_conflict_error'
  | 'eval_type_error'
  | 'eval_builtin_error'
  | 'eval_limit_error';

/** Raised by builtins; non-strict engines turn it into "undefined". */
export class BuiltinError extends Error {
  constructor(message: string) {
    // Builtin errors are frequent and usually swallowed (non-strict mode): skip the costly stack capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'BuiltinError';
  }
}

export interface SourceLoc {
  file: string;
  line: number;
  col: number;
}

export function at(loc: SourceLoc | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}: ` : '';
}

/** A regex pattern failed to compile; with `failClosedRegex` this aborts evaluation instead of yielding undefined. */
export class InvalidRegexError extends BuiltinError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRegexError';
  }
}

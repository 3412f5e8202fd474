/** Errors of the OCI distribution client. `registry`/`reference` name what the error is about. */
export class OciError extends Error {
  constructor(
    message: string,
    readonly where: { registry?: string; reference?: string; digest?: string; status?: number } = {},
    cause?: unknown,
  ) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'OciError';
  }
}

/** Registry refused our credentials (or we had none and it wanted some). */
export class OciAuthError extends OciError {
  constructor(message: string, where: { registry?: string; reference?: string; status?: number } = {}) {
    super(message, where);
    this.name = 'OciAuthError';
  }
}

/** Content did not hash to the digest it was fetched by: fail closed. */
export class DigestMismatchError extends OciError {
  constructor(expected: string, actual: string, what: string) {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`, { digest: expected });
    this.name = 'DigestMismatchError';
  }
}

/**
 * The error every evidence parser throws for malformed input. It names the evidence kind, the field and what was
 * expected, so a caller (KBS, CLI) can report it without guessing.
 */
export class MalformedEvidenceError extends Error {
  readonly kind: string;
  readonly field: string | undefined;
  constructor(kind: string, message: string, field?: string, cause?: unknown) {
    super(`${kind}: ${field ? `${field}: ` : ''}${message}`, cause !== undefined ? { cause } : undefined);
    this.name = 'MalformedEvidenceError';
    this.kind = kind;
    this.field = field;
  }
}

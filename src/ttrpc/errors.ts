/** ttrpc status errors: a gRPC code and message, as carried in a Response's google.rpc.Status. */
import { CcgpuError, Code } from '../errors/index.js';

export class TtrpcError extends CcgpuError {
  constructor(code: Code | number, message: string, cause?: unknown) {
    super(message, { code: code as Code, ...(cause !== undefined ? { cause } : {}) });
  }

  /** `ttrpc: <CodeName>: <message>` for logs. */
  override toString(): string {
    return `TtrpcError: ${codeName(this.code)}: ${this.message}`;
  }
}

const NAMES = new Map<number, string>(Object.entries(Code).map(([k, v]) => [v, k]));

/** Name of a gRPC status code (`NotFound`), or `Code(<n>)` for unknown values. */
export function codeName(code: number): string {
  return NAMES.get(code) ?? `Code(${code})`;
}

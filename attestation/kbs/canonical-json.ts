/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object members sorted by their UTF-16 code units at every level,
 * no whitespace, ECMAScript number and string serialization. Used for the RCAR runtime-data binding (§1.5).
 */

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function compareUtf16(a: string, b: string): number {
  // JS string comparison is by UTF-16 code units, exactly what RFC 8785 §3.2.3 asks for.
  return a < b ? -1 : a > b ? 1 : 0;
}

function str(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError(`canonical JSON: lone surrogate in string at ${path}`);
  return JSON.stringify(s);
}

function write(v: unknown, path: string, depth: number): string {
  if (depth > 256) throw new CanonicalJsonError(`canonical JSON: nesting deeper than 256 at ${path}`);
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`canonical JSON: non-finite number at ${path}`);
      return JSON.stringify(v); // ES Number-to-string, which RFC 8785 §3.2.2.3 adopts (-0 becomes 0)
    case 'string':
      return str(v, path);
    case 'object': {
      if (Array.isArray(v)) return '[' + v.map((x, i) => write(x, `${path}[${i}]`, depth + 1)).join(',') + ']';
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort(compareUtf16);
      return '{' + keys.map((k) => `${str(k, path)}:${write(obj[k], `${path}.${k}`, depth + 1)}`).join(',') + '}';
    }
    default:
      throw new CanonicalJsonError(`canonical JSON: cannot serialize ${typeof v} at ${path}`);
  }
}

/** The RFC 8785 canonical serialization of a JSON value. */
export function canonicalJson(value: unknown): string {
  return write(value, '$', 0);
}

/**
 * The KBS protocol's binding of nonce and TEE key into evidence (reference §1.5), from the verifier's side:
 * device digest = H(JCS({nonce, tee-pubkey})) binds GPU/device evidence; primary digest =
 * H(JCS({additional-evidence, nonce, tee-pubkey})) binds the CPU evidence and, through the additional-evidence
 * string, every device evidence, so a host cannot swap the GPU evidence without breaking the CPU report.
 */
import { createHash } from 'node:crypto';

/** RFC 8785 canonical JSON for the values that occur in runtime data (objects, arrays, strings, numbers, booleans, null). */
export function canonicalize(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('canonical JSON: non-finite number');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalize).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort((a, b) => {
        // JCS sorts by UTF-16 code units, which is JS string comparison.
        return a < b ? -1 : a > b ? 1 : 0;
      });
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(o[k])}`).join(',')}}`;
  }
  throw new Error(`canonical JSON: unsupported value of type ${typeof v}`);
}

export type BindingHash = 'sha256' | 'sha384' | 'sha512';

export interface RuntimeDataDigests {
  /** Binds device (GPU) evidence; NVIDIA uses its first 32 bytes as the SPDM nonce. */
  device: Buffer;
  /** Binds the primary (CPU) evidence; SNP/TDX zero-pad it to 64 bytes of report_data. */
  primary: Buffer;
}

export function runtimeDataDigests(
  nonce: string,
  teePubkey: unknown,
  additionalEvidence: string,
  hash: BindingHash = 'sha384',
): RuntimeDataDigests {
  const h = (s: string): Buffer => createHash(hash).update(s, 'utf8').digest();
  return {
    device: h(canonicalize({ nonce, 'tee-pubkey': teePubkey })),
    primary: h(canonicalize({ 'additional-evidence': additionalEvidence, nonce, 'tee-pubkey': teePubkey })),
  };
}

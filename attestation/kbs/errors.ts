/**
 * KBS errors in Trustee's shape: `{"type": ".../errors/<Variant>", "detail": "..."}` with Trustee's status codes
 * (401 for everything except InvalidRequestPath / PluginNotFound, which are 404).
 */
import { KBS_ERROR_TYPE_PREFIX, type KbsErrorBody } from './protocol.js';

export type KbsErrorVariant =
  | 'ProtocolVersion'
  | 'InvalidRequest'
  | 'InvalidRequestPath'
  | 'PluginNotFound'
  | 'MissingCookie'
  | 'InvalidCookie'
  | 'ExpiredCookie'
  | 'NonceMismatch'
  | 'AttestationFailed'
  | 'TokenNotFound'
  | 'TokenInvalid'
  | 'PolicyDeny'
  | 'PolicyEngineError'
  | 'AdminAuthAccess'
  | 'ResourceNotFound'
  | 'JweError'
  | 'PluginInternalError'
  | 'PayloadTooLarge'
  | 'MethodNotAllowed';

const STATUS: Partial<Record<KbsErrorVariant, number>> = {
  InvalidRequestPath: 404,
  PluginNotFound: 404,
  PayloadTooLarge: 413,
  MethodNotAllowed: 405,
};

/** An error the KBS server answers with; also what the client raises for a server-side refusal. */
export class KbsError extends Error {
  readonly status: number;
  constructor(
    readonly variant: KbsErrorVariant,
    detail: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(detail, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'KbsError';
    this.status = options?.status ?? STATUS[variant] ?? 401;
  }
  get detail(): string {
    return this.message;
  }
  toBody(): KbsErrorBody {
    return { type: KBS_ERROR_TYPE_PREFIX + this.variant, detail: this.message };
  }
}

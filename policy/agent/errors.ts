/** Errors of policy enforcement, with the ttRPC/gRPC status code the agent returns for them. */

/** gRPC status codes used by policy enforcement. */
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_INTERNAL = 13;

/** A request was denied: message "<Name> is blocked by policy: " followed by the gathered print lines. */
export class PolicyDeniedError extends Error {
  readonly grpcCode = GRPC_PERMISSION_DENIED;
  constructor(
    readonly requestName: string,
    readonly prints: string[] = [],
  ) {
    super(denialMessage(requestName, prints));
    this.name = 'PolicyDeniedError';
  }
}

/** Policy evaluation failed (no result, conflict, bad result shape, patch failure): the request is denied. */
export class PolicyInternalError extends Error {
  readonly grpcCode = GRPC_INTERNAL;
  constructor(
    readonly requestName: string,
    detail: string,
  ) {
    super(`${requestName}: internal error ${detail}`);
    this.name = 'PolicyInternalError';
  }
}

/** A policy could not be loaded (parse error, invalid regex, wrong package, bad initdata). */
export class PolicyLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyLoadError';
  }
}

export function denialMessage(requestName: string, prints: string[]): string {
  return `${requestName} is blocked by policy: ${prints.join(' ')}`;
}

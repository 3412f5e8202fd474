/** Generator errors: `where` names the file / resource / field the problem is in. */
export class GenpolicyError extends Error {
  constructor(
    message: string,
    readonly where: { file?: string; resource?: string; field?: string } = {},
    cause?: unknown,
  ) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'GenpolicyError';
  }
}

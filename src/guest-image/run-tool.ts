/**
 * Runs a host tool (apt-get, dpkg-deb, ldd, mkfs.*, zstd) to completion and returns its stdout. A missing tool or a
 * non-zero exit becomes an error naming the tool, its arguments, the Debian package that provides it and the tail
 * of its stderr.
 */
import { spawn } from 'node:child_process';

/** Debian packages providing the tools this builder runs, for error messages. */
const PROVIDERS: Record<string, string> = {
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  ldd: 'libc-bin',
  'mkfs.erofs': 'erofs-utils',
  'mkfs.ext4': 'e2fsprogs',
  zstd: 'zstd',
  xz: 'xz-utils',
};

export class ToolError extends Error {
  constructor(
    message: string,
    readonly tool: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

export interface RunToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: Buffer;
  /** Exit codes that are not failures (ldd exits 1 for static binaries). */
  okCodes?: number[];
}

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

export function runTool(tool: string, args: readonly string[], opts: RunToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const pkg = PROVIDERS[tool];
      reject(
        new ToolError(
          e.code === 'ENOENT'
            ? `${tool} not found on this host${pkg ? ` (install the Debian package "${pkg}")` : ''}`
            : `${tool}: ${e.message}`,
          tool,
          null,
          '',
        ),
      );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      const c = code ?? -1;
      if (c === 0 || opts.okCodes?.includes(c)) {
        resolve({ stdout: Buffer.concat(out), stderr, code: c });
        return;
      }
      const tail = stderr.trim().split('\n').slice(-5).join(' | ');
      reject(
        new ToolError(
          `${tool} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit ${c}`})${tail ? `: ${tail}` : ''}`,
          tool,
          code,
          stderr,
        ),
      );
    });
  });
}

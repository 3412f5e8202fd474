/**
 * Host side of a process's stdio: containerd's FIFOs (or `file://` paths) ↔ the agent's ReadStdout/ReadStderr/
 * WriteStdin/CloseStdin. `done` resolves once stdout and stderr have been drained to EOF, so exit events are only
 * published after all output has been delivered.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { AgentClient } from '../protocols/index.js';
import { errorMessage } from '../errors/index.js';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

const CHUNK = 32 * 1024;

function localPath(uri: string): { path: string; append: boolean } | undefined {
  if (!uri) return undefined;
  if (uri.startsWith('fifo://')) return { path: uri.slice(7), append: false };
  if (uri.startsWith('file://')) return { path: uri.slice(7), append: true };
  if (uri.startsWith('binary://')) return undefined; // logging binaries are not supported: the stream is dropped
  return { path: uri, append: false };
}

export class ProcessIo {
  readonly done: Promise<void>;
  private stdinFd: number | undefined;
  private stdinPath: string | undefined;
  private closed = false;
  private stdinCopying = false;

  constructor(
    private readonly agent: AgentClient,
    private readonly containerId: string,
    private readonly execId: string,
    private readonly paths: StdioPaths,
    private readonly log: Logger,
  ) {
    const out = this.pump('stdout', paths.stdout);
    const err = paths.terminal ? Promise.resolve() : this.pump('stderr', paths.stderr);
    this.done = Promise.all([out, err]).then(() => undefined);
    void this.feedStdin();
  }

  private async pump(stream: 'stdout' | 'stderr', uri: string): Promise<void> {
    const target = localPath(uri);
    let fh: fs.promises.FileHandle | undefined;
    try {
      if (target) fh = await fs.promises.open(target.path, target.append ? 'a' : fs.constants.O_WRONLY);
      const read =
        stream === 'stdout' ? this.agent.readStdout.bind(this.agent) : this.agent.readStderr.bind(this.agent);
      for (;;) {
        let data: Uint8Array;
        try {
          data = (await read({ containerId: this.containerId, execId: this.execId, len: CHUNK })).data as Uint8Array;
        } catch (e) {
          this.log.debug({ stream, err: errorMessage(e) }, 'stream ended');
          break;
        }
        if (!data || data.length === 0) break;
        if (fh) await fh.write(data);
      }
    } catch (e) {
      this.log.warn({ stream, err: errorMessage(e) }, 'copying process output failed');
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  private async feedStdin(): Promise<void> {
    const target = localPath(this.paths.stdin);
    if (!target) return;
    this.stdinPath = target.path;
    this.stdinCopying = true;
    try {
      // blocks (in the thread pool) until containerd opens the writer
      const fh = await fs.promises.open(target.path, fs.constants.O_RDONLY);
      this.stdinFd = fh.fd;
      const buf = Buffer.alloc(CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0 || this.closed) break;
        await this.agent.writeStdin({
          containerId: this.containerId,
          execId: this.execId,
          data: buf.subarray(0, bytesRead),
        });
      }
      await fh.close();
      this.stdinFd = undefined;
      if (!this.closed) await this.closeStdin();
    } catch (e) {
      if (!this.closed) this.log.debug({ err: errorMessage(e) }, 'stdin copy ended');
    } finally {
      this.stdinCopying = false;
    }
  }

  /**
   * containerd's CloseIO: the writer is done. The FIFO may still hold what it wrote, so while the copy runs it
   * delivers the rest and closes the guest's stdin itself at EOF; only without a copy is stdin closed here.
   */
  async closeIo(): Promise<void> {
    if (this.stdinFd !== undefined || this.stdinCopying) return;
    await this.closeStdin();
  }

  async closeStdin(): Promise<void> {
    try {
      await this.agent.closeStdin({ containerId: this.containerId, execId: this.execId });
    } catch (e) {
      this.log.debug({ err: errorMessage(e) }, 'CloseStdin failed');
    }
  }

  /** Stops the stdin copy (unblocking a pending FIFO open) once the process has gone. */
  close(): void {
    this.closed = true;
    if (this.stdinPath && this.stdinFd === undefined) {
      try {
        // a pending open(O_RDONLY) returns once a writer appears: be that writer for a moment
        const fd = fs.openSync(this.stdinPath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        fs.closeSync(fd);
      } catch {
        /* no pending reader, or not a FIFO */
      }
    }
  }
}

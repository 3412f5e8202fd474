/**
 * Output of a container process, kept until the host reads it (ReadStdout/ReadStderr). A read waits until data
 * is there and returns at most `len` bytes; once the writer has ended and everything was read, reads fail with
 * `EOF` (the host treats an error as the end of the stream). The buffer is bounded: when it holds more than
 * `highWaterMark` bytes the source stream is paused until the host catches up.
 */
import type { Readable } from 'node:stream';
import { CcgpuError, Code } from '../errors/index.js';

export class StreamEndedError extends CcgpuError {
  constructor(what: string) {
    super(`${what}: EOF`, { code: Code.OutOfRange });
  }
}

export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private waiters: Array<() => void> = [];
  private source: Readable | undefined;

  constructor(
    readonly what: string,
    private readonly highWaterMark = 4 * 1024 * 1024,
  ) {}

  /** Follow a readable stream: its data is appended, its end (or error) ends the buffer. */
  attach(stream: Readable): void {
    this.source = stream;
    stream.on('data', (d: Buffer) => this.push(d));
    stream.once('end', () => this.end());
    stream.once('close', () => this.end());
    stream.once('error', () => this.end());
  }

  get buffered(): number {
    return this.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  push(chunk: Buffer | Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    if (this.size > this.highWaterMark) this.source?.pause();
    this.wake();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Up to `len` bytes (len ≤ 0 means everything buffered), waiting for data; throws StreamEndedError at EOF. */
  async read(len: number, signal?: AbortSignal): Promise<Buffer> {
    while (this.size === 0) {
      if (this.ended) throw new StreamEndedError(this.what);
      if (signal?.aborted)
        throw signal.reason instanceof Error ? signal.reason : new Error(`${this.what}: read aborted`);
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    const want = len > 0 ? Math.min(len, this.size) : this.size;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < want) {
      const head = this.chunks[0]!;
      const take = Math.min(head.length, want - got);
      parts.push(head.subarray(0, take));
      got += take;
      if (take === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(take);
    }
    this.size -= got;
    if (this.source?.isPaused() && this.size <= this.highWaterMark / 2) this.source.resume();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }
}

/**
 * What the agent does because it is PID 1 in the initramfs: it must never exit (the kernel panics when PID 1 dies),
 * it reaps orphans re-parented to it (Node only waits for its own children), and it powers the VM off on
 * DestroySandbox.
 *
 * Orphan reaping needs waitpid(2), which Node does not expose: the `native/` addon provides it. A pid is only
 * reaped when it has been a zombie for two consecutive scans: libuv waits for Node's own children as soon as SIGCHLD
 * arrives, so a zombie that lingers is an orphan, and stealing a status libuv wanted (an exit code lost) cannot
 * happen unless the event loop stalls for a whole interval.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadNative } from '../../native/index.js';
import { runCommand } from '../subprocess/index.js';

/** Zombie processes whose parent is `parentPid`, from /proc/<pid>/stat. */
export function zombieChildren(parentPid: number, procRoot = '/proc'): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`${procRoot}/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...; comm may contain spaces and parentheses: split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' && Number(rest[1]) === parentPid) out.push(Number(e));
  }
  return out;
}

export class OrphanReaper {
  private timer: NodeJS.Timeout | undefined;
  private suspects = new Set<number>();
  reaped = 0;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  start(): boolean {
    let waitpid: ReturnType<typeof loadNative>['waitpid'];
    try {
      waitpid = loadNative().waitpid.bind(loadNative());
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'native addon not available: orphaned processes will stay zombies');
      return false;
    }
    const tick = (): void => {
      const now = new Set(zombieChildren(process.pid));
      const lingering = [...now].filter((p) => this.suspects.has(p));
      this.suspects = now;
      for (const pid of lingering) {
        try {
          const r = waitpid(pid, true);
          if (r) this.reaped++;
        } catch {
          /* raced with libuv or already gone */
        }
      }
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    return true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Keep PID 1 alive whatever throws: log and carry on. */
export function installCrashGuards(log: Logger): void {
  process.on('uncaughtException', (e) =>
    log.error({ err: e.stack ?? String(e) }, 'uncaught exception (agent keeps running)'),
  );
  process.on('unhandledRejection', (e) =>
    log.error({ err: e instanceof Error ? e.stack : String(e) }, 'unhandled rejection (agent keeps running)'),
  );
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGPIPE'] as const)
    process.on(sig, () => log.warn({ signal: sig }, 'signal ignored by the agent'));
}

/** Sync, then power the VM off: busybox `poweroff -f`, falling back to the sysrq trigger. */
export async function powerOff(log: Logger): Promise<void> {
  log.info('powering off');
  await runCommand('sync', [], { timeoutMs: 10_000, allowFailure: true }).catch(() => undefined);
  try {
    await runCommand('poweroff', ['-f'], { timeoutMs: 5_000 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'poweroff -f failed; using sysrq');
  }
  try {
    writeFileSync('/proc/sysrq-trigger', 'o');
  } catch (e) {
    log.error({ err: (e as Error).message }, 'cannot power off');
  }
}

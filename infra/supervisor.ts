import type { Logger } from '../lib/logger.js';
import type { ChildHandle } from '../lib/child-process.js';

export interface RestartPolicy {
  /** The first restart waits this long; each exit soon after the last doubles it, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A process that ran this long without exiting starts again from `baseDelayMs`. */
  stableAfterMs: number;
  /** This many exits within `stableAfterMs` of each other is a crash loop: reported, and restarted at the cap. */
  crashLoopExits: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
  crashLoopExits: 5,
};

/** How long to wait before the next start, after `exitsInARow` quick exits (1 for the first). */
export function restartDelayMs(policy: RestartPolicy, exitsInARow: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, exitsInARow - 1));
}

/** A line worth showing as "the last error": a log line at error level or above, or anything on stderr. */
export function isErrorLine(line: string, stream: 'stdout' | 'stderr'): boolean {
  return stream === 'stderr' || /"level":(50|60)\b|\b(ERROR|FATAL)\b/.test(line);
}

/**
 * One service process kept running, as pm2 kept the earlier Node service's: when it exits without being asked to, it is started
 * again after a backoff (its sessions resume there or on another host, from their saved logins); a crash loop is
 * reported with its last error line. Only `stop` ends it.
 */
export class SupervisedProcess {
  private current: ChildHandle;
  private stopping = false;
  private exitsInARow = 0;
  private lastError: string | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly started: Array<(handle: ChildHandle) => void> = [];

  constructor(
    readonly name: string,
    private readonly start: (onLine: (line: string, stream: 'stdout' | 'stderr') => void) => ChildHandle,
    private readonly log: Logger,
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {
    this.current = this.launch();
  }

  get handle(): ChildHandle {
    return this.current;
  }

  /** Called with each new process after a restart. */
  onRestart(listener: (handle: ChildHandle) => void): void {
    this.started.push(listener);
  }

  async stop(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.current.stop(signal, graceMs);
  }

  private launch(): ChildHandle {
    const startedAt = Date.now();
    const handle = this.start((line, stream) => {
      if (isErrorLine(line, stream)) this.lastError = line.slice(0, 2_000);
    });
    void handle.exited.then((code) => {
      if (this.stopping || handle !== this.current) return;
      this.exitsInARow = Date.now() - startedAt >= this.policy.stableAfterMs ? 1 : this.exitsInARow + 1;
      const delayMs = restartDelayMs(this.policy, this.exitsInARow);
      const details = { process: this.name, code, restartInMs: delayMs, exitsInARow: this.exitsInARow };
      if (this.exitsInARow >= this.policy.crashLoopExits) {
        this.log.error({ ...details, lastError: this.lastError }, `${this.name} is crash-looping; restarting`);
      } else {
        this.log.warn(details, `${this.name} exited; restarting`);
      }
      this.restartTimer = setTimeout(() => {
        if (this.stopping) return;
        this.current = this.launch();
        for (const listener of this.started) listener(this.current);
      }, delayMs);
    });
    return handle;
  }
}

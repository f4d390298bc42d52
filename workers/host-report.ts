import { hostname } from 'node:os';
import type { DatabasePool } from 'slonik';
import { forgetHostsGoneFor, reportHost, reportHostStopped } from '../db/hosts.js';
import { HOST_REPORT_EVERY_MS } from '../domain/host-state.js';
import type { Logger } from '../lib/logger.js';

/** How long the hosts view keeps a host that stopped reporting. */
const FORGET_HOSTS_GONE_FOR_DAYS = 7;

export interface HostFacts {
  taskQueue: string;
  engine: 'real' | 'simulated';
  seats: number;
  startsPerSecond: number;
  leasesRenewedAt: () => Date;
}

/** Writes what this host is to the `hosts` table while it runs (GET /v1/admin/hosts reads it). */
export class HostReport {
  private timer: NodeJS.Timeout | null = null;
  private draining = false;
  private failing = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly facts: HostFacts,
    private readonly log: Logger,
  ) {}

  start(): void {
    void forgetHostsGoneFor(this.pool, FORGET_HOSTS_GONE_FOR_DAYS).catch(() => undefined);
    void this.send();
    this.timer = setInterval(() => void this.send(), HOST_REPORT_EVERY_MS);
    this.timer.unref();
  }

  /** Said at once: an operator watching a rolling restart sees the host drain before its sessions move. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.send();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await reportHostStopped(this.pool, this.facts.taskQueue).catch(() => undefined);
  }

  private async send(): Promise<void> {
    try {
      await reportHost(this.pool, {
        taskQueue: this.facts.taskQueue,
        hostname: hostname(),
        pid: process.pid,
        engine: this.facts.engine,
        seats: this.facts.seats,
        startsPerSecond: this.facts.startsPerSecond,
        processMemoryBytes: process.memoryUsage.rss(),
        draining: this.draining,
        leasesRenewedAt: this.facts.leasesRenewedAt(),
      });
      if (this.failing) this.log.info('host report written again');
      this.failing = false;
    } catch (error) {
      // The leases say whether the database is reachable; this report is only for people, so once per outage.
      if (!this.failing) this.log.warn({ err: String(error) }, 'could not write the host report');
      this.failing = true;
    }
  }
}

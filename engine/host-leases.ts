import type { DatabasePool } from 'slonik';
import type { LeaseFence } from '../db/engine-auth.js';
import type { LeasedClient } from '../db/session-leases.js';
import {
  acquireLease,
  askHolderToStop,
  claimLapsedLeases,
  leaseExpiry,
  leasedElsewhere,
  leaseStoreAnswers,
  recordClientEnd,
  recordClientStart,
  releaseLease,
  renewLeases,
  unclaimLapsedLease,
} from '../db/session-leases.js';
import type { Logger } from '../lib/logger.js';

export interface HostLeaseTimings {
  /** How long a lease holds without renewal: after a host's death its sessions wait at most this for a new host. */
  ttlMs: number;
  /** How often the host renews all its leases (one statement). */
  renewEveryMs: number;
  /** A host that has not renewed for `ttlMs - safetyMs` stops its clients: the lease may pass soon after. */
  safetyMs: number;
}

/** The lease was lost as it was taken: the start fails and the workflow retries it. */
export class SessionLeaseLost extends Error {
  override readonly name = 'SessionLeaseLost';
  constructor(sessionId: string) {
    super(`session ${sessionId} lost its lease on this host as it was taken`);
  }
}

/** A lease this host no longer holds: the session, and the epoch its client here ran under. */
export interface LostLease {
  sessionId: string;
  epoch: number;
}

/** A client this host is asked, through its lease, to stop (db/session-leases.ts askHolderToStop), and how. */
export interface AskedStop {
  sessionId: string;
  epoch: number;
  logout: boolean;
  forgetLogin: boolean;
}

/** What a host does for the other hosts beside holding its own leases. */
export interface HostLeaseDuties {
  /** Tells a session's workflow that the host running it let its lease lapse; absent: this host reports none. */
  reportGone?: (sessionId: string, host: string) => Promise<void>;
  /** Stops these clients, as asked: their lease is still held here, and the stop gives it up. */
  stopAsked?: (stops: AskedStop[]) => Promise<void>;
}

/** While a start waits for a holder it asked to let go, it looks this often: the holder answers within a renewal. */
const ASKED_HOLDER_LOOK_MS = 500;

/**
 * Another host still holds the session's lease past the wait: the start is retried (an activity's failure keeps the
 * error's name as its type), by when the lease has lapsed or its owner has let go.
 */
export class SessionLeasedElsewhere extends Error {
  override readonly name = 'SessionLeasedElsewhere';
  constructor(sessionId: string) {
    super(`session ${sessionId} is leased by another host`);
  }
}

/** Renewed nine times a lease's life; clients stop once seven ninths of it passed without a renewal. */
export function leaseTimings(ttlMs: number): HostLeaseTimings {
  return { ttlMs, renewEveryMs: Math.round(ttlMs / 9), safetyMs: Math.round((ttlMs * 2) / 9) };
}

/**
 * The leases of one host's sessions (db/session-leases.ts): a client starts only under a lease, every lease is renewed
 * together, a session another host took over is stopped here, and a host that could not renew in time (database
 * unreachable, process paused) stops all its clients before their leases can pass to another host. Saves made for a
 * session carry its fence (host and epoch), so a late one from a stale owner is refused by the database.
 */
export class HostLeases {
  /**
   * The client each session runs here under, by the epoch it holds, and until when (the database's clock) that lease
   * is known valid: the audit's bound on the client.
   */
  private readonly held = new Map<string, { epoch: number; validUntil: number }>();
  /** Monotonic time of the last renewal that succeeded, taken before it was sent. */
  private lastRenewedAt = performance.now();
  /**
   * Monotonic time the lease store last answered this host (a renewal, or a round trip when it held none), taken
   * before the request was sent.
   */
  private storeAnsweredAt = performance.now();
  private timer: NodeJS.Timeout | null = null;
  /** Asked stops under way, by session and epoch. */
  private readonly stopping = new Set<string>();
  /**
   * Client ends the audit could not record while the database was out of reach (the clients did stop): written once
   * it answers again, with the lease's known validity, which is what bounds each client in the audit.
   */
  private readonly unrecordedEnds: Array<{
    sessionId: string;
    epoch: number;
    validUntil: number | null;
    /** Monotonic time the client stopped, and the wall clock then. */
    endedAt: number;
    endedAtWallMs: number;
  }> = [];

  constructor(
    private readonly pool: DatabasePool,
    readonly host: string,
    /** Stops these sessions' clients of these epochs here, their logins kept: the lease is gone. */
    private readonly onLost: (lost: LostLease[], why: 'taken_over' | 'not_renewed') => Promise<void>,
    private readonly log: Logger,
    private readonly timings: HostLeaseTimings = leaseTimings(45_000),
    private readonly duties: HostLeaseDuties = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.timings.renewEveryMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Whether the lease store (the service's database) answered this host within the time its clients may run without
   * a renewal. A host cut off from it while Temporal still reaches it would take placements, workflow tasks and row
   * writes it cannot carry out: it takes none until the store answers again (workers/main.ts).
   */
  reachesLeaseStore(): boolean {
    return performance.now() - this.storeAnsweredAt <= this.timings.ttlMs - this.timings.safetyMs;
  }

  /** The fence of a session's current client here, or null when this host holds no lease for it. */
  fence(sessionId: string): LeaseFence | null {
    const lease = this.held.get(sessionId);
    return lease === undefined ? null : { host: this.host, epoch: lease.epoch };
  }

  /**
   * Takes the session's lease for a new client here and answers its epoch, which the client's saves and its release
   * carry. The same account's client of an older generation holding it on another host is asked to let go: its host
   * may be alive but out of Temporal's reach, where no stop can reach it, and it stops the client at its next renewal.
   * A lease held otherwise is waited out (its host stops its client before it expires); still held after that, the
   * start fails and the workflow retries it. Null when the client stopped being wanted (`stillWanted`) before its
   * lease was taken, or as it was (then given up at once). The host asks for one lease of a session at a time
   * (engine/session-host.ts).
   */
  async acquire(
    sessionId: string,
    options: { client?: LeasedClient | null; stillWanted?: () => boolean } = {},
  ): Promise<number | null> {
    const { client = null, stillWanted = () => true } = options;
    const giveUpAt = Date.now() + this.timings.ttlMs + 5_000;
    let holderAsked = false;
    for (;;) {
      if (!stillWanted()) return null;
      const lease = await acquireLease(this.pool, sessionId, this.host, this.timings.ttlMs, client);
      if (lease) {
        const superseded = this.held.get(sessionId);
        this.held.set(sessionId, { epoch: lease.epoch, validUntil: lease.expiresAt });
        // A lease of this session still held here is superseded by the new epoch: its client can neither renew nor
        // save under it any more, so the audit ends it now.
        if (superseded !== undefined && superseded.epoch !== lease.epoch) {
          this.log.warn({ sessionId, epoch: superseded.epoch }, 'a session lease here superseded by a newer one');
          await this.closeAudit(sessionId, superseded.epoch, superseded.validUntil);
        }
        // Stopped while the database answered: no client starts under it.
        if (!stillWanted()) {
          await this.release(sessionId, lease.epoch, false);
          return null;
        }
        try {
          await recordClientStart(this.pool, sessionId, this.host, lease.epoch);
        } catch (error) {
          // No client starts; the audit row may have been written though its answer was lost, so it is closed
          // like any client's end the database could not take at once.
          if (this.held.get(sessionId)?.epoch === lease.epoch) this.held.delete(sessionId);
          this.unrecordedEnds.push({
            sessionId,
            epoch: lease.epoch,
            validUntil: lease.expiresAt,
            endedAt: performance.now(),
            endedAtWallMs: Date.now(),
          });
          throw error;
        }
        if (this.held.get(sessionId)?.epoch !== lease.epoch) {
          // Lost while the audit took the start (the host stopped its clients for want of a renewal): none starts.
          await this.closeAudit(sessionId, lease.epoch, lease.expiresAt);
          throw new SessionLeaseLost(sessionId);
        }
        return lease.epoch;
      }
      const expiresAt = await leaseExpiry(this.pool, sessionId);
      if (Date.now() >= giveUpAt) {
        throw new SessionLeasedElsewhere(sessionId);
      }
      // Asked again at each look: a holder that took the lease anew meanwhile had the request cleared.
      const asked =
        client === null
          ? null
          : await askHolderToStop(this.pool, sessionId, {
              accountRun: client.accountRun,
              throughGeneration: client.generation - 1,
              logout: false,
              forgetLogin: false,
              otherRuns: true,
            });
      if (asked !== null && !holderAsked) {
        holderAsked = true;
        this.log.info(
          { sessionId, generation: client?.generation, holder: asked },
          'asked the host holding an older client to let go',
        );
      }
      const untilExpiry = expiresAt === null ? 100 : Math.min(Math.max(100, expiresAt - Date.now() + 50), 5_000);
      const waitMs = asked === null ? untilExpiry : Math.min(untilExpiry, ASKED_HOLDER_LOOK_MS);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /**
   * The client of this epoch stopped here: its lease is given up and its audit closed. Nothing happens when this host
   * no longer holds that epoch (lost or superseded: its audit was closed then).
   */
  async release(sessionId: string, epoch: number, audited = true): Promise<void> {
    const lease = this.held.get(sessionId);
    if (lease?.epoch !== epoch) return;
    this.held.delete(sessionId);
    if (audited) await this.closeAudit(sessionId, epoch, lease.validUntil);
    await releaseLease(this.pool, sessionId, this.host, epoch).catch((error: unknown) =>
      this.log.warn({ sessionId, err: String(error) }, 'could not release a session lease; it expires by itself'),
    );
  }

  /** Which of these sessions another host runs now; null when the lease store does not answer. */
  async landedElsewhere(sessionIds: readonly string[]): Promise<Set<string> | null> {
    return leasedElsewhere(this.pool, this.host, sessionIds).catch((error: unknown) => {
      this.log.warn({ err: String(error) }, 'could not read where handed-over sessions run; the drain goes on');
      return null;
    });
  }

  /** When this host last renewed its leases (or, holding none, found the lease store answering). */
  renewedAt(): Date {
    return new Date(Date.now() - (performance.now() - this.lastRenewedAt));
  }

  /**
   * Every `renewEveryMs`: first whether the clients here may still run at all, then a renewal and a look for lapsed
   * leases. A renewal still waiting on the lease store does not hold the next one back (one stalled connection must
   * not stop every client here); renewals answered out of order judge only the epochs they carried.
   */
  private async tick(): Promise<void> {
    // Checked before anything else: a process resumed from a pause runs this first chance it gets.
    if (this.held.size > 0 && performance.now() - this.lastRenewedAt > this.timings.ttlMs - this.timings.safetyMs) {
      const sessions = [...this.held.entries()].map(([sessionId, lease]) => ({ sessionId, epoch: lease.epoch }));
      this.log.error(
        { sessions: sessions.length, sinceRenewalMs: Math.round(performance.now() - this.lastRenewedAt) },
        'leases not renewed in time: stopping every client on this host before another host may take them',
      );
      this.lastRenewedAt = performance.now();
      await this.lose(sessions, 'not_renewed');
      return;
    }
    await this.renew();
    await this.reportLapsed();
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) {
      this.lastRenewedAt = performance.now();
      const sentAt = performance.now();
      try {
        await leaseStoreAnswers(this.pool);
        this.storeAnsweredAt = Math.max(this.storeAnsweredAt, sentAt);
        await this.recordUnrecordedEnds();
      } catch (error) {
        this.log.warn({ err: String(error) }, 'the lease store does not answer; taking no sessions meanwhile');
      }
      return;
    }
    const sentAt = performance.now();
    try {
      const sent = new Map([...this.held].map(([sessionId, lease]) => [sessionId, lease.epoch]));
      const { stillHeld, expiresAt, stopAsked } = await renewLeases(this.pool, this.host, sent, this.timings.ttlMs);
      // A renewal answered late never moves these back past a later one's.
      this.lastRenewedAt = Math.max(this.lastRenewedAt, sentAt);
      this.storeAnsweredAt = Math.max(this.storeAnsweredAt, sentAt);
      // Judged by the epochs the renewal carried: a client started here since it was sent is not its business.
      const lost: LostLease[] = [];
      for (const [sessionId, epoch] of sent) {
        const lease = this.held.get(sessionId);
        if (lease?.epoch !== epoch) continue;
        if (!stillHeld.has(sessionId)) lost.push({ sessionId, epoch });
        else if (expiresAt !== null) lease.validUntil = Math.max(lease.validUntil, expiresAt);
      }
      await this.recordUnrecordedEnds();
      this.stopAsked(sent, stopAsked);
      if (lost.length > 0) {
        this.log.warn(
          { sessions: lost.map((lease) => lease.sessionId) },
          'sessions taken over by another host: stopping their clients here',
        );
        await this.lose(lost, 'taken_over');
      }
    } catch (error) {
      this.log.warn({ err: String(error) }, 'could not renew this host’s session leases; retrying');
    }
  }

  /**
   * Stops the clients the renewal was asked to stop, of the epochs it carried, each once: the renewals while a stop is
   * under way still read the request, and a slow stop never holds back the next renewal.
   */
  private stopAsked(
    sent: ReadonlyMap<string, number>,
    asked: ReadonlyMap<string, { logout: boolean; forgetLogin: boolean }>,
  ): void {
    const stopAsked = this.duties.stopAsked;
    if (!stopAsked) return;
    const stops: AskedStop[] = [];
    for (const [sessionId, how] of asked) {
      const epoch = sent.get(sessionId);
      if (epoch === undefined || this.held.get(sessionId)?.epoch !== epoch) continue;
      const key = `${sessionId}:${epoch}`;
      if (this.stopping.has(key)) continue;
      this.stopping.add(key);
      stops.push({ sessionId, epoch, ...how });
    }
    if (stops.length === 0) return;
    this.log.warn(
      { sessions: stops.map((stop) => stop.sessionId) },
      'asked through the lease store to stop clients (a newer start elsewhere, or a stop this host was not reached by)',
    );
    void stopAsked(stops)
      .catch((error: unknown) => this.log.warn({ err: String(error) }, 'a stop asked through the lease store failed'))
      .finally(() => {
        for (const stop of stops) this.stopping.delete(`${stop.sessionId}:${stop.epoch}`);
      });
  }

  /**
   * Liveness per host, not per session: a host that stopped renewing its leases is noticed here, by a host still
   * alive, and only the sessions it ran are told (their workflows move them). Nothing per session travels while
   * every host is alive.
   */
  private async reportLapsed(): Promise<void> {
    const reportGone = this.duties.reportGone;
    if (!reportGone) return;
    try {
      const lapsed = await claimLapsedLeases(this.pool, 500);
      for (const lease of lapsed) {
        try {
          await reportGone(lease.session_id, lease.host);
        } catch (error) {
          this.log.warn({ sessionId: lease.session_id, err: String(error) }, 'could not report a lapsed lease');
          await unclaimLapsedLease(this.pool, lease.session_id, lease.epoch);
        }
      }
      if (lapsed.length > 0) {
        const hosts = [...new Set(lapsed.map((lease) => lease.host))];
        this.log.warn({ sessions: lapsed.length, hosts }, 'hosts let their leases lapse: their sessions were told');
      }
    } catch (error) {
      this.log.warn({ err: String(error) }, 'could not look for lapsed leases; retrying');
    }
  }

  private async lose(sessions: readonly LostLease[], why: 'taken_over' | 'not_renewed'): Promise<void> {
    const ended: Array<LostLease & { validUntil: number }> = [];
    for (const { sessionId, epoch } of sessions) {
      const lease = this.held.get(sessionId);
      if (lease?.epoch !== epoch) continue;
      this.held.delete(sessionId);
      ended.push({ sessionId, epoch, validUntil: lease.validUntil });
    }
    if (ended.length === 0) return;
    await this.onLost(
      ended.map(({ sessionId, epoch }) => ({ sessionId, epoch })),
      why,
    );
    for (const lease of ended) await this.closeAudit(lease.sessionId, lease.epoch, lease.validUntil);
  }

  private async closeAudit(sessionId: string, epoch: number, validUntil: number | null): Promise<void> {
    const endedAt = performance.now();
    const endedAtWallMs = Date.now();
    await recordClientEnd(this.pool, sessionId, this.host, epoch, validUntil, {
      wallMs: endedAtWallMs,
      agoMs: 0,
    }).catch((error: unknown) => {
      this.log.warn({ sessionId, err: String(error) }, 'could not close a client in the lease audit; retrying later');
      this.unrecordedEnds.push({ sessionId, epoch, validUntil, endedAt, endedAtWallMs });
    });
  }

  private async recordUnrecordedEnds(): Promise<void> {
    while (this.unrecordedEnds.length > 0) {
      const end = this.unrecordedEnds[0];
      if (!end) return;
      try {
        await recordClientEnd(this.pool, end.sessionId, this.host, end.epoch, end.validUntil, {
          wallMs: end.endedAtWallMs,
          agoMs: performance.now() - end.endedAt,
        });
      } catch {
        return;
      }
      this.unrecordedEnds.shift();
    }
  }
}

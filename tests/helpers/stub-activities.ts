import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  AccountStoreActivities,
  EngineSessionActivities,
  PlacementActivities,
  SessionLeaseActivities,
} from '../../activities/index.js';
import type { AccountSnapshot } from '../../activities/account-store.js';
import { canMoveTo, type AccountStatus } from '../../domain/account-status.js';
import { eventually } from './context.js';
import { splitSessionKey } from '../../domain/session-key.js';

/** The world is kept by session id (tests use each once); the workflow's activities name sessions by key. */
const bare = (key: string) => splitSessionKey(key).sessionId;

/** One account's row as the stub store keeps it, and every write that reached it. */
export interface StubRow {
  status: AccountStatus;
  failureReason: string | null;
  phoneNumber: string | null;
  deleted: boolean;
  events: string[];
  loginCodes: string[];
  /** Forgetting is idempotent and activities run at least once: whether it happened, not how often. */
  loginForgotten: boolean;
}

/** What the stub host did with a session: each start (its generation) and each stop (how). */
export interface StubSession {
  starts: number[];
  stops: Array<{ logout: boolean; forgetLogin: boolean }>;
  /** Stops written on the session's lease, for a host its task queue did not reach. */
  askedStops: Array<{ throughGeneration: number; logout: boolean; forgetLogin: boolean }>;
  /** How the stub answers; a test sets it before the workflow asks. */
  startFailure: string | null;
  /** Set: the host takes no stop through its task queue (out of Temporal's reach), as this failure. */
  stopFailure: string | null;
  /** Set: the host refuses a pairing-code request with this failure type, its message naming the session. */
  pairingFailure: string | null;
  extraction: { phoneNumber: string } | { failure: string; retryable: boolean };
  watches: Map<number, { hostDies: () => void; destroyed: () => void }>;
  /** Set while every host is full: the session's claims wait until a seat is freed. */
  noRoom: { freed: Promise<void>; free: () => void } | null;
}

/**
 * Activities of the account workflow without a database or an engine: an in-memory store that answers like the real
 * one (the status flow, dedupe keys, soft deletes) and a host that records starts and stops. The branch tests drive the
 * engine's side themselves with signals, so every branch of the workflow runs on a real Temporal server in seconds.
 */
export class StubWorld {
  readonly rows = new Map<string, StubRow>();
  readonly sessions = new Map<string, StubSession>();
  private readonly appliedKeys = new Set<string>();

  constructor(private readonly hostTaskQueue: string) {}

  row(sessionId: string): StubRow {
    let row = this.rows.get(sessionId);
    if (!row) {
      row = {
        status: 'qr_scanning',
        failureReason: null,
        phoneNumber: null,
        deleted: false,
        events: [],
        loginCodes: [],
        loginForgotten: false,
      };
      this.rows.set(sessionId, row);
    }
    return row;
  }

  session(sessionId: string): StubSession {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = {
        starts: [],
        stops: [],
        askedStops: [],
        startFailure: null,
        stopFailure: null,
        pairingFailure: null,
        extraction: { phoneNumber: '62811801641' },
        watches: new Map(),
        noRoom: null,
      };
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  /** Waits until the host has started this generation of the session (or any, when none is named). */
  async started(sessionId: string, generation?: number): Promise<number> {
    return eventually(
      async () => {
        const starts = this.session(sessionId).starts;
        const latest = starts[starts.length - 1];
        if (generation === undefined) return latest;
        return starts.includes(generation) ? generation : undefined;
      },
      10_000,
      `${sessionId}: generation ${generation ?? 'any'} started`,
    );
  }

  /** The host holding this generation dies: its watch fails as a lost heartbeat would. */
  killHost(sessionId: string, generation: number): void {
    this.session(sessionId).watches.get(generation)?.hostDies();
  }

  /** Every host is full for this session until `free` is called. */
  fillHosts(sessionId: string): { free: () => void } {
    let free: () => void = () => undefined;
    const freed = new Promise<void>((resolve) => {
      free = resolve;
    });
    const session = this.session(sessionId);
    session.noRoom = {
      freed,
      free: () => {
        session.noRoom = null;
        free();
      },
    };
    return session.noRoom;
  }

  releaseAll(): void {
    for (const session of this.sessions.values()) session.noRoom?.free();
    for (const session of this.sessions.values()) for (const watch of session.watches.values()) watch.destroyed();
  }

  private applyOnce(dedupeKey: string): boolean {
    if (this.appliedKeys.has(dedupeKey)) return false;
    this.appliedKeys.add(dedupeKey);
    return true;
  }

  private snapshot(row: StubRow, applied: boolean): AccountSnapshot {
    return {
      applied,
      status: row.status,
      isPrimary: row.status === 'connected',
      phoneNumber: row.phoneNumber,
      deleted: row.deleted,
    };
  }

  storeActivities(): AccountStoreActivities {
    return {
      recordStatus: async (change) => {
        const row = this.row(bare(change.sessionId));
        const applied = !row.deleted && canMoveTo(row.status, change.status) && this.applyOnce(change.dedupeKey);
        if (applied) {
          row.status = change.status;
          row.failureReason = change.reason ?? null;
          row.events.push(change.eventType);
        }
        return this.snapshot(row, applied);
      },
      recordLoginCode: async (code) => {
        const row = this.row(bare(code.sessionId));
        const applied = this.applyOnce(code.dedupeKey);
        if (applied) row.loginCodes.push(`${code.kind}:${code.value}`);
        return { applied };
      },
      activateAccount: async (activation) => {
        const row = this.row(bare(activation.sessionId));
        const applied = !row.deleted && row.status !== 'failed' && this.applyOnce(activation.dedupeKey);
        if (applied) {
          Object.assign(row, { status: 'connected', phoneNumber: activation.phoneNumber, failureReason: null });
          row.events.push('session_ready');
        }
        return { ...this.snapshot(row, applied), releasedSessionIds: [] };
      },
      recordEvent: async (event) => {
        const applied = this.applyOnce(event.dedupeKey);
        if (applied) this.row(bare(event.sessionId)).events.push(event.eventType);
        return { applied };
      },
      endAccount: async (ending) => {
        const row = this.row(bare(ending.sessionId));
        const applied = this.applyOnce(ending.dedupeKey);
        if (applied) {
          if (row.status !== 'failed') Object.assign(row, { status: ending.status, failureReason: ending.reason });
          row.deleted ||= ending.softDelete;
          row.loginForgotten ||= ending.forgetLogin;
          row.events.push(ending.eventType);
        }
        return this.snapshot(row, applied);
      },
    };
  }

  leaseActivities(): SessionLeaseActivities {
    return {
      askHostToStop: async ({ sessionId, accountRun: _accountRun, ...request }) => {
        this.session(bare(sessionId)).askedStops.push(request);
        return { hostAsked: this.hostTaskQueue };
      },
    };
  }

  hostActivities(): PlacementActivities & EngineSessionActivities {
    return {
      claimHost: async (input) => {
        // A host with a free seat answers at once; while all are full the claim is not picked up (the slot supplier
        // holds the poll back), which to the workflow looks like this wait.
        const noRoom = input ? this.session(bare(input.sessionId)).noRoom : null;
        if (noRoom) await noRoom.freed;
        return { taskQueue: this.hostTaskQueue };
      },
      startEngineSession: async ({ sessionId, generation }) => {
        const session = this.session(bare(sessionId));
        if (session.startFailure)
          throw ApplicationFailure.nonRetryable('the stub host cannot start it', session.startFailure);
        if (!session.starts.includes(generation)) session.starts.push(generation);
        return { events: [] };
      },
      watchEngineSession: async ({ sessionId, generation }) => {
        const context = Context.current();
        const beat = setInterval(() => context.heartbeat(), 200);
        try {
          return await new Promise<'destroyed' | 'cancelled'>((resolve, reject) => {
            this.session(bare(sessionId)).watches.set(generation, {
              hostDies: () => reject(ApplicationFailure.nonRetryable('the stub host died', 'HostDied')),
              destroyed: () => resolve('destroyed'),
            });
            context.cancelled.then(
              () => resolve('cancelled'),
              () => resolve('cancelled'),
            );
          });
        } finally {
          clearInterval(beat);
        }
      },
      extractPhone: async ({ sessionId }) => {
        const extraction = this.session(bare(sessionId)).extraction;
        if ('phoneNumber' in extraction)
          return { phoneNumber: extraction.phoneNumber, pushName: null, lid: null, platform: null };
        if (extraction.retryable) throw ApplicationFailure.retryable('not yet', extraction.failure);
        throw ApplicationFailure.nonRetryable('never', extraction.failure);
      },
      requestEnginePairingCode: async ({ sessionId }) => {
        const failure = this.session(bare(sessionId)).pairingFailure;
        if (failure) throw ApplicationFailure.nonRetryable(`session ${sessionId} is not on this host`, failure);
        return { code: 'ABCD-EFGH' };
      },
      captureSessionScreen: async () => {
        throw ApplicationFailure.nonRetryable('the stub host has no page', 'SessionNotOnHost');
      },
      stopEngineSession: async ({ sessionId, logout, forgetLogin }) => {
        const session = this.session(bare(sessionId));
        if (session.stopFailure)
          throw ApplicationFailure.nonRetryable('the stop never reached the host', session.stopFailure);
        session.stops.push({ logout, forgetLogin });
        for (const watch of session.watches.values()) watch.destroyed();
      },
    };
  }
}

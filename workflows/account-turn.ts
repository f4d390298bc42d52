import type { AccountSnapshot } from '../activities/account-store.js';
import type { AccountEventType } from '../domain/account-event-types.js';
import { canMoveTo, type AccountStatus } from '../domain/account-status.js';
import { ENDINGS, endingReason, type EndingKind } from '../domain/account-endings.js';
import type { AccountEffect, EventWrite, PhoneIdentity } from './account-inputs.js';
import type { AccountWorkflowState } from './account-state.js';
import type { AccountTimings } from '../domain/account-timings.js';
import type { DeadlineName } from './deadlines.js';

/** What a transition reads besides the state and its input: workflow time and randomness, and the run's timings. */
export interface TransitionContext {
  now: number;
  /** A number in [0, 1): the reconnect jitter. */
  random: number;
  timings: AccountTimings;
}

/**
 * One transition in progress: a copy of the state it changes and the effects it asks for, in order. The moves here are
 * the steps several transitions share (writes, endings, stopping the session, reconnects).
 */
export class Turn {
  readonly effects: AccountEffect[] = [];

  constructor(
    readonly state: AccountWorkflowState,
    readonly context: TransitionContext,
  ) {}

  get account() {
    return this.state.account;
  }

  get now(): number {
    return this.context.now;
  }

  do(effect: AccountEffect): void {
    this.effects.push(effect);
  }

  setDeadline(name: DeadlineName, at: number): void {
    this.state.deadlines[name] = at;
  }

  clearDeadlines(...names: DeadlineName[]): void {
    for (const name of names) delete this.state.deadlines[name];
  }

  /** The next dedupe name of this kind of write: its kind and its number within the kind. */
  private dedupeName(kind: string): string {
    const count = (this.state.writeCounts[kind] ?? 0) + 1;
    this.state.writeCounts[kind] = count;
    return `${kind}:${count}`;
  }

  moveTo(status: AccountStatus, eventType: AccountEventType, reason: string | null = null): void {
    // Any status written says more than `connected` left standing through a move: the move is no longer quiet.
    this.endQuietMove();
    if (!canMoveTo(this.account.status, status)) return;
    const dedupeName = this.dedupeName(`status:${eventType}`);
    this.do({ type: 'writeStatus', write: { status, eventType, reason, dedupeName } });
  }

  recordCode(kind: 'qr' | 'pairing_code', value: string, emittedAt?: number): void {
    // The first code of the account measures how long WhatsApp took to offer a login.
    const first = this.account.latestQr === null && this.account.latestPairingCode === null;
    if (kind === 'qr') this.account.latestQr = value;
    else this.account.latestPairingCode = value;
    const timings: Record<string, number> = {
      ...(first ? { qrGenerationMs: this.now - this.state.startedAt } : {}),
      ...(emittedAt !== undefined ? { emittedAt } : {}),
    };
    this.do({ type: 'writeCode', write: { kind, value, timings, dedupeName: this.dedupeName(`code:${kind}`) } });
  }

  /** An event that changes no status; with a `wait`, the row shows it until its status changes or it shows a code. */
  recordEvent(eventType: AccountEventType, data: EventWrite['data'], wait?: EventWrite['wait']): void {
    const dedupeName = this.dedupeName(`event:${eventType}`);
    this.do({ type: 'writeEvent', write: { eventType, data, dedupeName, ...(wait ? { wait } : {}) } });
  }

  /**
   * Connected with this phone, in one transaction that releases the phone from the workspace's older accounts; or,
   * back from a quiet move as it was, with nothing to write: the row already says so.
   */
  connect(identity: PhoneIdentity, phoneExtractionMs: number): void {
    const timings: Record<string, number> = { phoneExtractionMs };
    if (this.state.authenticatedAt !== null) timings.scanToConnectedMs = this.now - this.state.authenticatedAt;
    this.state.authenticatedAt = null;
    // Once per stall: a session that came up may stall again weeks later and is owed its restart then too.
    this.state.readyRestarts = 0;
    const move = this.state.quietMove;
    // Back after the window (a start that took long answers before its deadline is handled): the row says the
    // session was away, then connected again.
    const noticeAt = this.state.deadlines.moveNotice;
    const inTime = move !== undefined && noticeAt !== undefined && this.now < noticeAt;
    if (inTime) this.endQuietMove();
    else this.settleQuietMove();
    if (inTime && this.account.status === 'connected' && sameIdentity(this.account, identity)) {
      // A web-build canary that judges this start reads that it worked from the host's first look at the session.
      this.clearDeadlines('reconnectBy');
      Object.assign(this.account, { failureReason: null, reconnectAttempts: 0, lastFailure: null });
      return;
    }
    this.do({ type: 'activate', write: { identity, timings, dedupeName: this.dedupeName('activation') } });
  }

  /**
   * The session's host is lost and the row still says `connected`: it goes on saying so for hostMoveQuietMs, and a
   * move back within it writes nothing. A second loss during the move keeps the first one's clock.
   */
  private startQuietMove(): boolean {
    // Timings recorded before hostMoveQuietMs existed carry none: such a run wrote at once, and replays so.
    const quietMs: number | undefined = this.context.timings.hostMoveQuietMs;
    if (!(quietMs !== undefined && quietMs > 0) || this.account.status !== 'connected') return false;
    if (this.state.quietMove) return true;
    this.state.quietMove = true;
    this.setDeadline('moveNotice', this.now + quietMs);
    return true;
  }

  private endQuietMove(): void {
    delete this.state.quietMove;
    this.clearDeadlines('moveNotice');
  }

  /** A quiet move that did not end back `connected` in time (or that failed) shows: the row says `disconnected`. */
  settleQuietMove(): void {
    if (this.state.quietMove) this.moveTo('disconnected', 'disconnected', 'host_lost');
  }

  /** What the database decided about the row: the workflow's view follows it. */
  adoptRowState(snapshot: AccountSnapshot): void {
    this.account.isPrimary = snapshot.isPrimary;
    this.account.status = snapshot.status;
    if (snapshot.deleted || snapshot.status === 'failed') this.account.ended = true;
  }

  finish(kind: EndingKind, detail?: string): void {
    const ending = ENDINGS[kind];
    this.endQuietMove();
    this.stopSession({ logout: ending.logout, forgetLogin: ending.forgetLogin });
    const everConnected = this.account.status === 'connected' || this.account.status === 'disconnected';
    const write = {
      status: ending.status === 'disconnected' && !everConnected ? 'failed' : ending.status,
      reason: endingReason(kind, detail),
      eventType: ending.eventType,
      softDelete: ending.softDelete,
      // The host removes its copy when it stops the client; the ending removes the one in PostgreSQL, host or no host.
      forgetLogin: ending.forgetLogin,
      dedupeName: this.dedupeName('end'),
    } as const;
    this.do({ type: 'writeEnd', write });
    this.clearDeadlines('reconnectAt');
  }

  /** Stops the client on its host (or the request for one), and every wait that was for it. */
  stopSession(options = { logout: false, forgetLogin: false }): void {
    this.clearDeadlines('readyBy', 'reconnectBy');
    this.stopWaitingForHost();
    this.leaveHost(options);
  }

  /** Lets go of the host, or withdraws the request for one; the session has no host after it. */
  leaveHost(options: { logout: boolean; forgetLogin: boolean } | null): void {
    const host = this.state.host;
    if (host.phase === 'placing') this.do({ type: 'stopAskingForHost' });
    if (host.phase === 'attached' && options)
      this.do({ type: 'stopEngine', taskQueue: host.taskQueue, generation: host.generation, ...options });
    this.state.host = { phase: 'none' };
  }

  /** The wait for a host is over (answered or withdrawn): no more notice, and the QR clock runs again. */
  stopWaitingForHost(): void {
    this.clearDeadlines('hostWaitNotice');
    if (this.state.qrMsLeftWhileWaiting !== null) {
      this.setDeadline('qrExpiry', this.now + this.state.qrMsLeftWhileWaiting);
      this.state.qrMsLeftWhileWaiting = null;
    }
  }

  /**
   * The host running the session is gone (or only its watch failed: then it may be alive, its client running and its
   * lease renewed, so it is asked to stop the client, or no other host could ever start the session).
   */
  loseHost(watchFailed: boolean): void {
    // The waits were for the client on that host; the move brings up a client with waits of its own.
    this.clearDeadlines('readyBy', 'reconnectBy');
    this.leaveHost(watchFailed ? { logout: false, forgetLogin: false } : null);
    this.do({ type: 'warn', message: 'host lost; moving the session to another host' });
    if (this.account.status === 'connected' && !this.startQuietMove())
      this.moveTo('disconnected', 'disconnected', 'host_lost');
    this.setDeadline('reconnectAt', this.now);
  }

  /** Backoff with jitter, so the reconnects of many accounts after one outage spread out; bounded attempts. */
  scheduleReconnect(reason: string): void {
    // A move that failed is no longer quiet: the retry it waits for is the row's to show.
    this.settleQuietMove();
    const { timings, random } = this.context;
    this.account.reconnectAttempts += 1;
    if (this.account.reconnectAttempts > timings.reconnectMaxAttempts) {
      return reason === 'engine_start_failed'
        ? this.finish('engine_start_failed')
        : this.finish('reconnect_failed', reason);
    }
    const exponential = Math.min(
      timings.reconnectMaxDelayMs,
      timings.reconnectBaseDelayMs * 2 ** (this.account.reconnectAttempts - 1),
    );
    const nextTryAt = this.now + Math.round(exponential * (0.5 + random * 0.5));
    this.setDeadline('reconnectAt', nextTryAt);
    this.account.lastFailure = reason;
    const attempt = this.nextAttempt();
    this.recordEvent(
      'engine_retry_scheduled',
      {
        reason,
        attempt: attempt.attempt,
        attemptsLeft: attempt.maxAttempts - attempt.attempt + 1,
        nextTryAt: new Date(nextTryAt).toISOString(),
        generation: this.account.generation,
      },
      { kind: 'engine_retry', ...attempt, reason, nextTryAt },
    );
  }

  /** The start about to happen (or scheduled next), counted against every start the account is allowed. */
  nextAttempt(): { attempt: number; maxAttempts: number; reconnecting: boolean } {
    return {
      attempt: this.account.reconnectAttempts + 1,
      maxAttempts: this.context.timings.reconnectMaxAttempts + 1,
      // Logged in before: a status write to `disconnected` may still be on its way.
      reconnecting: this.account.status === 'disconnected' || this.account.status === 'connected',
    };
  }
}

/** The same phone, name and WhatsApp ids as the row holds: an activation would change nothing. */
function sameIdentity(account: AccountWorkflowState['account'], identity: PhoneIdentity): boolean {
  return (
    account.phoneNumber === identity.phoneNumber &&
    account.pushName === identity.pushName &&
    (account.lid ?? null) === (identity.lid ?? null) &&
    (account.platform ?? null) === (identity.platform ?? null)
  );
}

import {
  ApplicationFailure,
  getExternalWorkflowHandle,
  log,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SessionEvent } from '../engine/types.js';
import { failureReason, HOST_NEVER_ANSWERED } from './account-activities.js';
import { ENDINGS, endingReason, type EndingKind } from './account-endings.js';
import type { AccountRecord } from './account-record.js';
import type { AccountConnectionState, AccountTimings } from './account-state.js';
import type { DeadlineName, Deadlines } from './deadlines.js';
import { accountWorkflowId } from './ids.js';
import { signalAccount, supersededSignal } from './messages.js';
import { accountHostKey } from './search-attributes.js';
import type { SessionLink } from './session-link.js';

export type Command =
  { type: 'delete' } | { type: 'logout' } | { type: 'restart' } | { type: 'superseded'; bySessionId: string };

/** What the transitions act on; the account machine owns all of it. */
export interface AccountParts {
  state: AccountConnectionState;
  timings: AccountTimings;
  record: AccountRecord;
  session: SessionLink;
  deadlines: Deadlines;
  /** Engine events not handled yet: a new generation of the session makes them stale. */
  events: SessionEvent[];
}

const RESTART_REASON = 'restart_requested';

/**
 * What the account does with each thing that happens to it: a command, a lost host, an engine event, a deadline, a
 * pairing-code request. Each transition runs to its end before the machine takes the next thing.
 */
export class AccountTransitions {
  private readonly state: AccountConnectionState;
  private readonly timings: AccountTimings;
  private readonly record: AccountRecord;
  private readonly session: SessionLink;
  private readonly deadlines: Deadlines;
  private readonly events: SessionEvent[];
  private readyRestarts = 0;
  private authenticatedAt: number | null = null;
  private hostAskedAt = 0;
  /** What was left of the QR window when the account started waiting for a host. */
  private qrMsLeftWhileWaiting: number | null = null;

  constructor(parts: AccountParts) {
    ({ state: this.state, timings: this.timings, record: this.record, session: this.session } = parts);
    ({ deadlines: this.deadlines, events: this.events } = parts);
  }

  async command(command: Command): Promise<void> {
    switch (command.type) {
      case 'delete':
        return this.finish('deleted');
      case 'logout':
        return this.finish('logged_out');
      case 'restart':
        await this.stopSession();
        if (this.state.status === 'connected') await this.record.moveTo('disconnected', 'disconnected', RESTART_REASON);
        this.state.reconnectAttempts = 0;
        this.deadlines.set('reconnectAt', Date.now());
        return;
      case 'superseded':
        // The activation that took the phone already wrote this row; only the client and its login are left.
        await this.stopSession({ logout: true, forgetLogin: true });
        return this.record.superseded(command.bySessionId);
    }
  }

  async hostLost(): Promise<void> {
    await this.session.letGo();
    log.warn('host lost; moving the session to another host', {
      sessionId: this.state.sessionId,
      hostTaskQueue: this.state.hostTaskQueue,
    });
    if (this.state.status === 'connected') await this.record.moveTo('disconnected', 'disconnected', 'host_lost');
    this.deadlines.set('reconnectAt', Date.now());
  }

  async event({ event, emittedAt, ownPhone }: SessionEvent): Promise<void> {
    switch (event.type) {
      case 'qr':
      case 'pairing_code':
        // A session that had logged in asks for a new login: its saved login no longer works.
        if (this.state.status !== 'qr_scanning') return this.finish('login_lost');
        return this.record.recordCode(event.type, event.type === 'qr' ? event.qr : event.code, emittedAt);
      case 'authenticated':
        this.authenticatedAt = Date.now();
        this.deadlines.set('readyBy', Date.now() + this.timings.readyTimeoutMs);
        if (this.state.status === 'qr_scanning') await this.record.moveTo('authenticated', 'authenticated');
        return;
      case 'ready':
        this.deadlines.clear('readyBy');
        return this.connect(ownPhone);
      case 'auth_failure':
        return this.finish('auth_failure', event.reason);
      case 'disconnected':
        if (event.kind === 'logout') return this.finish('logged_out_from_phone');
        if (event.kind === 'banned') return this.finish('banned', event.reason);
        // Transient or conflict: the saved login stays, the session comes back without a scan.
        await this.stopSession();
        if (this.state.status === 'connected') {
          await this.record.moveTo(
            'disconnected',
            'disconnected',
            event.kind === 'conflict' ? 'conflict' : `transient:${event.reason}`,
          );
        }
        return this.scheduleReconnect(event.kind === 'conflict' ? 'conflict' : event.reason);
    }
  }

  async deadline(name: DeadlineName): Promise<void> {
    switch (name) {
      case 'qrExpiry':
        return this.finish('qr_expired');
      case 'readyBy':
        // Stuck in `authenticated` (the seed's incident 6): restart once from the saved login, then give up.
        this.readyRestarts += 1;
        if (this.readyRestarts > 1) return this.finish('ready_timeout');
        await this.stopSession();
        this.deadlines.set('reconnectAt', Date.now());
        return;
      case 'reconnectAt':
        return; // The next step brings the session up.
      case 'reconnectBy':
        // The client came up but never logged back in (a start that failed silently, a page that hung).
        await this.stopSession();
        return this.scheduleReconnect('reconnect_timeout');
      case 'hostWaitNotice':
        // Every host is full: the account waits for a seat, and says so once per request.
        return this.record.note(
          'waiting_for_host',
          { waitingSinceMs: Date.now() - this.hostAskedAt, generation: this.state.generation },
          { kind: 'host', since: this.hostAskedAt },
        );
    }
  }

  /** The loop's turn at a pairing-code request: the state may have moved on since the validator accepted it. */
  async pairingCode(phoneNumber: string): Promise<string> {
    if (!this.takesPairingRequests()) throw ApplicationFailure.nonRetryable(this.pairingRefusal(), 'NotScanning');
    const code = await this.session.requestPairingCode(phoneNumber);
    await this.record.recordCode('pairing_code', code);
    return code;
  }

  /**
   * `ready`: the own phone number (sent with `ready` when the host could read it at once, else extracted on the host
   * with retries), then activate in one transaction. Never connected without a phone.
   */
  private async connect(ownPhone: SessionEvent['ownPhone']): Promise<void> {
    const extractionStartedAt = Date.now();
    let identity: { phoneNumber: string; pushName: string | null };
    try {
      const { phoneNumber, pushName } = ownPhone ?? (await this.session.extractPhone());
      identity = { phoneNumber, pushName };
    } catch (error) {
      const reason = failureReason(error, 'phone_extraction_failed');
      // No host took the task (its process died) or the host no longer has the session: the session is lost, not
      // the phone number. It comes up again elsewhere from the saved login.
      if (reason === 'SessionNotOnHost' || reason === HOST_NEVER_ANSWERED) {
        this.session.lost = true;
        return;
      }
      return this.finish('phone_extraction_failed', reason);
    }
    const timings: Record<string, number> = {
      phoneExtractionMs: ownPhone ? ownPhone.readInMs : Date.now() - extractionStartedAt,
    };
    if (this.authenticatedAt !== null) timings.scanToConnectedMs = Date.now() - this.authenticatedAt;
    this.authenticatedAt = null;
    const result = await this.record.activate(identity, timings);
    if (result.status === 'connected') this.deadlines.clear('reconnectBy');
    if (this.state.ended) return this.stopSession({ logout: true, forgetLogin: false });
    for (const sessionId of result.releasedSessionIds) {
      // The older accounts' workflows stop their clients; their rows are already released (a phone moves only
      // within its workspace).
      await signalAccount(
        getExternalWorkflowHandle(accountWorkflowId(this.state.workspaceId, sessionId)),
        supersededSignal,
        {
          bySessionId: this.state.sessionId,
        },
      ).catch(() => undefined);
    }
  }

  // ---- Session and endings.

  /**
   * A new generation of the engine session asks for a host with a free seat. The QR clock stops while it waits: an
   * account never expires for the lack of room.
   */
  askForHost(): void {
    this.state.generation += 1;
    this.events.length = 0;
    this.hostAskedAt = Date.now();
    this.qrMsLeftWhileWaiting = this.deadlines.msUntil('qrExpiry', this.hostAskedAt);
    this.deadlines.clear('qrExpiry');
    this.deadlines.set('hostWaitNotice', this.hostAskedAt + this.timings.hostWaitNoticeMs);
    this.session.askForHost();
  }

  /** A host answered (or the request failed): the session starts there. */
  async hostAnswered(): Promise<void> {
    this.stopWaitingForHost();
    try {
      const taskQueue = this.session.takeHostAnswer();
      upsertSearchAttributes([{ key: accountHostKey, value: taskQueue }]);
      await this.noteEngineStarting(taskQueue);
      await this.session.attach(taskQueue, this.state.generation);
      this.state.hostTaskQueue = taskQueue;
      if (this.state.status === 'disconnected')
        this.deadlines.set('reconnectBy', Date.now() + this.timings.readyTimeoutMs);
    } catch (error) {
      this.session.detach();
      const reason = failureReason(error, 'engine_start_failed');
      log.warn('engine session did not start', { sessionId: this.state.sessionId, reason });
      await this.scheduleReconnect(reason);
    }
  }

  private async stopSession(options = { logout: false, forgetLogin: false }): Promise<void> {
    this.deadlines.clear('readyBy', 'reconnectBy');
    this.stopWaitingForHost();
    await this.session.stop(options);
  }

  /** The wait for a host is over (answered or withdrawn): no more notice, and the QR clock runs again. */
  private stopWaitingForHost(): void {
    this.deadlines.clear('hostWaitNotice');
    if (this.qrMsLeftWhileWaiting !== null) {
      this.deadlines.set('qrExpiry', Date.now() + this.qrMsLeftWhileWaiting);
      this.qrMsLeftWhileWaiting = null;
    }
  }

  /** Backoff with jitter, so the reconnects of many accounts after one outage spread out; bounded attempts. */
  private async scheduleReconnect(reason: string): Promise<void> {
    this.state.reconnectAttempts += 1;
    if (this.state.reconnectAttempts > this.timings.reconnectMaxAttempts) {
      return reason === 'engine_start_failed'
        ? this.finish('engine_start_failed')
        : this.finish('reconnect_failed', reason);
    }
    const { reconnectBaseDelayMs, reconnectMaxDelayMs } = this.timings;
    const exponential = Math.min(reconnectMaxDelayMs, reconnectBaseDelayMs * 2 ** (this.state.reconnectAttempts - 1));
    const nextTryAt = Date.now() + Math.round(exponential * (0.5 + Math.random() * 0.5));
    this.deadlines.set('reconnectAt', nextTryAt);
    this.state.lastFailure = reason;
    const attempt = this.nextAttempt();
    await this.record.note(
      'engine_retry_scheduled',
      {
        reason,
        attempt: attempt.attempt,
        attemptsLeft: attempt.maxAttempts - attempt.attempt + 1,
        nextTryAt: new Date(nextTryAt).toISOString(),
        generation: this.state.generation,
      },
      { kind: 'engine_retry', ...attempt, reason, nextTryAt },
    );
  }

  /** A host took the session: the account says which attempt this is, and why the one before failed. */
  private async noteEngineStarting(hostTaskQueue: string): Promise<void> {
    const attempt = this.nextAttempt();
    const lastFailure = this.state.lastFailure ?? null;
    await this.record.note(
      'engine_starting',
      { ...attempt, host: hostTaskQueue, generation: this.state.generation, lastFailure },
      { kind: 'engine_starting', ...attempt, since: Date.now(), lastFailure },
    );
  }

  /** The start about to happen (or scheduled next), counted against every start the account is allowed. */
  private nextAttempt(): { attempt: number; maxAttempts: number; reconnecting: boolean } {
    return {
      attempt: this.state.reconnectAttempts + 1,
      maxAttempts: this.timings.reconnectMaxAttempts + 1,
      reconnecting: this.state.status === 'disconnected',
    };
  }

  private async finish(kind: EndingKind, detail?: string): Promise<void> {
    const ending = ENDINGS[kind];
    await this.stopSession({ logout: ending.logout, forgetLogin: ending.forgetLogin });
    await this.record.end(ending, endingReason(kind, detail));
    this.deadlines.clear('reconnectAt');
  }

  takesPairingRequests(): boolean {
    return this.state.status === 'qr_scanning' && !this.state.ended;
  }

  pairingRefusal(): string {
    return `pairing codes are for accounts not linked yet; this one is ${this.state.status}`;
  }
}

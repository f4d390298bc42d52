import type { AccountStatus } from '../domain/account-status.js';
import type { SessionEvent } from '../engine/types.js';

/** Timings of one account workflow; tests shrink them, production keeps the defaults. */
export interface AccountTimings {
  /** An unscanned account fails with `qr_expired` after this long. */
  qrExpiryMs: number;
  /** After `authenticated`, `ready` must come within this long, else the session restarts once, then fails. */
  readyTimeoutMs: number;
  /** An account that has waited this long for a host with a free seat says so (an event, `waiting_for_host`). */
  hostWaitNoticeMs: number;
  /** A host that has not picked up a task within this long is taken as dead. */
  hostScheduleToStartMs: number;
  /**
   * A backstop only: a host that has not heartbeat its session watch within this long is taken as dead. A dead host
   * is noticed sooner by the hosts still alive, when its session leases lapse (engine/host-leases.ts), and only its
   * sessions are told; a long timeout keeps idle sessions from costing Temporal a heartbeat each every few seconds.
   */
  hostHeartbeatTimeoutMs: number;
  /** Phone extraction retries until this budget is spent, then the account fails. */
  phoneExtractionBudgetMs: number;
  /** Reconnect backoff: first delay, cap, and how many attempts before giving up. */
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  reconnectMaxAttempts: number;
}

export const DEFAULT_TIMINGS: AccountTimings = {
  qrExpiryMs: 5 * 60_000,
  readyTimeoutMs: 90_000,
  hostWaitNoticeMs: 5_000,
  hostScheduleToStartMs: 15_000,
  hostHeartbeatTimeoutMs: 10 * 60_000,
  phoneExtractionBudgetMs: 60_000,
  reconnectBaseDelayMs: 1_000,
  reconnectMaxDelayMs: 60_000,
  reconnectMaxAttempts: 12,
};

export interface AccountConnectionInput {
  sessionId: string;
  workspaceId: string;
  /** Log in with a pairing code for this phone number instead of a QR. */
  pairingPhoneNumber?: string | null;
  timings?: Partial<AccountTimings>;
  /** Continue-as-new after this many handled events (default: when Temporal suggests it). */
  continueAsNewAfterEvents?: number;
  /** Carried over by continue-as-new; absent on the first run. */
  carried?: CarriedState;
}

export interface AccountConnectionState {
  sessionId: string;
  workspaceId: string;
  status: AccountStatus;
  failureReason: string | null;
  phoneNumber: string | null;
  pushName: string | null;
  isPrimary: boolean;
  hostTaskQueue: string | null;
  /** Increases on every (re)start of the engine session; events of older generations are ignored. */
  generation: number;
  /** Counts every recorded change; it names each change so a retried write is applied once. */
  changeCount: number;
  reconnectAttempts: number;
  latestQr: string | null;
  latestPairingCode: string | null;
  /** Why the last engine start failed or the session dropped; cleared once connected. */
  lastFailure?: string | null;
  /** True once the account has ended (deleted, logged out, failed); the workflow then returns. */
  ended: boolean;
}

/** What a run hands the next one when it continues as new. */
export interface CarriedState {
  state: AccountConnectionState;
  /** Engine events that arrived and were not handled yet. */
  pendingEvents: SessionEvent[];
  /** When the account's first run started: the QR expiry counts from here. */
  startedAt: number;
}

export function newAccountState(input: AccountConnectionInput): AccountConnectionState {
  return {
    sessionId: input.sessionId,
    workspaceId: input.workspaceId,
    status: 'qr_scanning',
    failureReason: null,
    phoneNumber: null,
    pushName: null,
    isPrimary: false,
    hostTaskQueue: null,
    generation: 0,
    changeCount: 0,
    reconnectAttempts: 0,
    latestQr: null,
    latestPairingCode: null,
    ended: false,
  };
}

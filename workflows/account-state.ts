import type { AccountStatus } from '../domain/account-status.js';
import type { SessionEvent } from '../engine/types.js';
import type { DeadlineTimes } from './deadlines.js';

export interface AccountConnectionInput {
  sessionId: string;
  workspaceId: string;
  /** Log in with a pairing code for this phone number instead of a QR. */
  pairingPhoneNumber?: string | null;
  /** Carried over by continue-as-new; absent on the first run. */
  carried?: CarriedState;
}

/** The account as the workflow last wrote it to its row: what the state query and the workflow's result show. */
export interface AccountConnectionState {
  sessionId: string;
  workspaceId: string;
  status: AccountStatus;
  failureReason: string | null;
  phoneNumber: string | null;
  pushName: string | null;
  /** The rest of who logged in, as the last activation wrote it. */
  lid?: string | null;
  platform?: string | null;
  isPrimary: boolean;
  hostTaskQueue: string | null;
  /** Increases on every (re)start of the engine session; events of older generations are ignored. */
  generation: number;
  reconnectAttempts: number;
  latestQr: string | null;
  latestPairingCode: string | null;
  /** Why the last engine start failed or the session dropped; cleared once connected. */
  lastFailure?: string | null;
  /** True once the account has ended (deleted, logged out, failed); the workflow then returns. */
  ended: boolean;
}

/** Where the engine session stands: no host, a host asked for (this generation), or running on a host. */
export type HostLink =
  | { phase: 'none' }
  | { phase: 'placing'; generation: number }
  | { phase: 'attached'; taskQueue: string; generation: number };

/**
 * Everything the account workflow decides by: owned by the account machine, changed only by `transition`
 * (workflows/account-transitions.ts), carried over whole by continue-as-new.
 */
export interface AccountWorkflowState {
  account: AccountConnectionState;
  host: HostLink;
  deadlines: DeadlineTimes;
  /** When the account's first run started: the QR expiry and the first code's timing count from here. */
  startedAt: number;
  /** `ready` never came after `authenticated`: the session was restarted this often for it. */
  readyRestarts: number;
  authenticatedAt: number | null;
  hostAskedAt: number;
  /** What was left of the QR window when the account started waiting for a host. */
  qrMsLeftWhileWaiting: number | null;
  /**
   * A connected session lost its host and is moving while its row still says `connected`, until the `moveNotice`
   * deadline (timings.hostMoveQuietMs).
   */
  quietMove?: true;
  /**
   * Row writes made so far, by what they are (`status:authenticated`, `event:engine_starting`, ...). A write's dedupe
   * key is its kind and its number within the kind, so a write added elsewhere never renames the others.
   */
  writeCounts: Record<string, number>;
}

/** What a run hands the next one when it continues as new. */
export interface CarriedState {
  state: AccountWorkflowState;
  /** Engine events that arrived and were not handled yet. */
  pendingEvents: SessionEvent[];
}

/** The account as a new one is, before its row is written. */
export function newAccountView(input: AccountConnectionInput): AccountConnectionState {
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
    reconnectAttempts: 0,
    latestQr: null,
    latestPairingCode: null,
    ended: false,
  };
}

export function newAccountState(input: AccountConnectionInput, startedAt: number): AccountWorkflowState {
  return {
    account: newAccountView(input),
    host: { phase: 'none' },
    deadlines: {},
    startedAt,
    readyRestarts: 0,
    authenticatedAt: null,
    hostAskedAt: 0,
    qrMsLeftWhileWaiting: null,
    writeCounts: {},
  };
}

/** A copy whose every part the transition may change without touching the original. */
export function copyState(state: AccountWorkflowState): AccountWorkflowState {
  return {
    ...state,
    account: { ...state.account },
    host: { ...state.host },
    deadlines: { ...state.deadlines },
    writeCounts: { ...state.writeCounts },
  };
}

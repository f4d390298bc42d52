import type { AccountEventType } from './account-event-types.js';
/**
 * Every way an account ends, as one table: the status it ends in, the event written, and what is done with the
 * client and the saved login. `logout` unlinks the device on the phone; `forgetLogin` removes the saved login (it is
 * worthless, or must not outlive the account); `softDelete` hides the row from lists.
 */
export interface EndingRule {
  status: 'disconnected' | 'failed';
  eventType: Extract<AccountEventType, 'session_failed' | 'logged_out' | 'session_deleted'>;
  logout: boolean;
  forgetLogin: boolean;
  softDelete: boolean;
}

const failed = { status: 'failed', eventType: 'session_failed', softDelete: false } as const;

export const ENDINGS = {
  /** Nobody scanned the QR in time. */
  qr_expired: { ...failed, logout: false, forgetLogin: true },
  /** Stuck in `authenticated`: restarted once from the saved login, still no `ready`. */
  ready_timeout: { ...failed, logout: true, forgetLogin: true },
  /** WhatsApp refused the login. */
  auth_failure: { ...failed, logout: false, forgetLogin: true },
  /** WhatsApp banned the number. */
  banned: { ...failed, logout: false, forgetLogin: true },
  /** Connected, but no phone number could be read: never connected without one. */
  phone_extraction_failed: { ...failed, logout: true, forgetLogin: true },
  /** The reconnect attempts are spent. The account is over (nothing restarts it), so its login must not outlive it. */
  reconnect_failed: { ...failed, logout: false, forgetLogin: true },
  /** No engine session could be started at all. */
  engine_start_failed: { ...failed, logout: false, forgetLogin: true },
  /** A session that had logged in asks for a new login: only a new scan (a new account) can bring it back. */
  login_lost: { status: 'disconnected', eventType: 'logged_out', logout: false, forgetLogin: true, softDelete: false },
  /** The phone unlinked the device. */
  logged_out_from_phone: {
    status: 'disconnected',
    eventType: 'logged_out',
    logout: false,
    forgetLogin: true,
    softDelete: false,
  },
  /** The API asked for a logout. */
  logged_out: { status: 'disconnected', eventType: 'logged_out', logout: true, forgetLogin: true, softDelete: false },
  /** The API deleted the account. */
  deleted: { status: 'disconnected', eventType: 'session_deleted', logout: true, forgetLogin: true, softDelete: true },
} as const satisfies Record<string, EndingRule>;

export type EndingKind = keyof typeof ENDINGS;

/** The `failure_reason` written: the kind, and what WhatsApp or the host said when there is more to say. */
export function endingReason(kind: EndingKind, detail?: string): string {
  return detail === undefined ? kind : `${kind}:${detail}`;
}

/**
 * The endings that leave an account `disconnected` rather than `failed` (a logout, a delete): with `failed` and a
 * deleted row, what tells an account that ended from one that is only reconnecting (db/accounts.ts).
 */
export const ENDED_WHILE_DISCONNECTED: readonly EndingKind[] = (Object.keys(ENDINGS) as EndingKind[]).filter(
  (kind) => ENDINGS[kind].status === 'disconnected',
);

/**
 * The account has ended, as its row says: deleted, failed, or disconnected by an ending (a logout, a delete). Nothing
 * but a new account brings it back. The same test in SQL: db/accounts.ts ACCOUNT_ROW_ENDED.
 */
export function accountHasEnded(row: { deleted: boolean; status: string; failureReason: string | null }): boolean {
  if (row.deleted || row.status === 'failed') return true;
  if (row.status !== 'disconnected' || row.failureReason === null) return false;
  return (ENDED_WHILE_DISCONNECTED as readonly string[]).includes(row.failureReason.split(':')[0] ?? '');
}

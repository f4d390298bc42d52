import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { ENDINGS } from '../domain/account-endings.js';
import { accountRowSchema, type AccountRow } from './account-row.js';
import { UNSEEN_CONNECTED_SECONDS } from '../domain/account-wait.js';

/** Accounts that ended `disconnected` (logged out, login lost) are over, not waiting: their reason says which. */
const DISCONNECTED_ENDINGS = Object.entries(ENDINGS)
  .filter(([, ending]) => ending.status === 'disconnected')
  .map(([kind]) => kind);

/**
 * How long an account may stay in each status that is not an end before it counts as stuck: a QR waits at most
 * 5 minutes, a login finishes loading within two 90-second tries, and reconnects give up after their attempts
 * (about 10 minutes of backoff). Past these, something the workflow cannot fix by itself holds the account.
 */
export const EXPECTED_STATUS_SECONDS = {
  qr_scanning: 6 * 60,
  authenticated: 4 * 60,
  disconnected: 15 * 60,
  /** For `connected`, the time since its host last saw the session answer, not since it connected. */
  connected: UNSEEN_CONNECTED_SECONDS,
} as const;

/** Since when an account is stuck: in its status, or (connected) since its session was last seen answering. */
const stuckSince = sql.fragment`CASE WHEN status = 'connected' THEN COALESCE(last_seen_at, status_changed_at)
  ELSE status_changed_at END`;

/** The condition, one place for the list and the metric: live, not at an end, past its expected time. */
function stuck(olderThanSeconds: number | null) {
  const expected = olderThanSeconds
    ? sql.fragment`${olderThanSeconds}::int`
    : sql.fragment`CASE status
        WHEN 'qr_scanning' THEN ${EXPECTED_STATUS_SECONDS.qr_scanning}::int
        WHEN 'authenticated' THEN ${EXPECTED_STATUS_SECONDS.authenticated}::int
        ELSE ${EXPECTED_STATUS_SECONDS.disconnected}::int END`;
  const unseen = olderThanSeconds ?? EXPECTED_STATUS_SECONDS.connected;
  return sql.fragment`deleted_at IS NULL AND (
    status IN ('qr_scanning', 'authenticated', 'disconnected')
      AND NOT (status = 'disconnected'
               AND split_part(failure_reason, ':', 1) = ANY(${sql.array(DISCONNECTED_ENDINGS, 'text')}))
      AND status_changed_at < now() - make_interval(secs => ${expected})
    OR status = 'connected' AND ${stuckSince} < now() - make_interval(secs => ${unseen}::int))`;
}

/** How many accounts are stuck in each status (the `wa_accounts_stuck` gauge). */
export async function countStuckAccounts(
  db: CommonQueryMethods,
): Promise<ReadonlyArray<{ status: string; count: number }>> {
  return db.any(sql.type(z.object({ status: z.string(), count: z.number() }))`
    SELECT status, count(*)::int8 AS count FROM whatsapp_accounts WHERE ${stuck(null)} GROUP BY status ORDER BY status
  `);
}

export interface StuckAccount {
  row: AccountRow;
  stuckForSeconds: number;
  expectedSeconds: number;
}

/**
 * Live accounts in a status that is not an end for longer than expected (or than `olderThanSeconds`), the longest
 * first; of one workspace, or of all (null).
 */
export async function listStuckAccounts(
  db: CommonQueryMethods,
  query: { workspaceId: string | null; olderThanSeconds: number | null; limit: number },
): Promise<StuckAccount[]> {
  const rows = await db.any(sql.type(accountRowSchema)`
    SELECT * FROM whatsapp_accounts
    WHERE ${stuck(query.olderThanSeconds)}
      AND (${query.workspaceId}::text IS NULL OR workspace_id = ${query.workspaceId})
    ORDER BY ${stuckSince}
    LIMIT ${query.limit}
  `);
  const now = Date.now();
  return rows.map((row) => ({
    row,
    stuckForSeconds: Math.round(
      (now - (row.status === 'connected' ? (row.last_seen_at ?? row.status_changed_at) : row.status_changed_at)) / 1000,
    ),
    expectedSeconds:
      query.olderThanSeconds ?? EXPECTED_STATUS_SECONDS[row.status as keyof typeof EXPECTED_STATUS_SECONDS],
  }));
}

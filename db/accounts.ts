import type { AccountEventType } from '../domain/account-event-types.js';
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { ENDED_WHILE_DISCONNECTED } from '../domain/account-endings.js';
import { canMoveTo, type AccountStatus } from '../domain/account-status.js';
import type { AccountWait } from '../domain/account-wait.js';
import { appendAccountEvent, appliedChange, forgetLoginCodes, forgetShownQrs } from './account-events.js';
import type { StoredProxy } from './proxy-settings.js';
import { AccountConflictError, accountRowSchema, lockAccount, type AccountRow } from './account-row.js';
import { splitSessionKey } from '../domain/session-key.js';
import { endOnboardingLinksOf } from './onboarding-links.js';
import { markCanaryStartWorking } from './web-build-canaries.js';
import { lockWorkspace } from './workspace-lock.js';
import { setWebhookSetting } from './webhook-endpoints.js';

export { AccountConflictError, type AccountRow } from './account-row.js';

export interface NewAccount {
  workspaceId: string;
  sessionId: string;
  metadata?: Record<string, unknown>;
  webhookUrl?: string | null;
  /** What the phone shows under "Linked devices" (null: the workspace's default). */
  deviceName?: string | null;
  browserName?: string | null;
  /** Its own proxy, credentials sealed (db/proxy-settings.ts); absent: the workspace's default. */
  proxy?: StoredProxy;
}

/** The workspace already keeps as many live accounts as it may. */
export class AccountLimitReached extends Error {
  override readonly name = 'AccountLimitReached';
  constructor(readonly limit: number) {
    super(`the workspace keeps ${limit} live accounts, its limit: delete one, or ask an operator for more`);
  }
}

/**
 * Inserts the row, or returns the one already there for this session id: the same request twice gives one account.
 * A new row is refused when the workspace already keeps its limit of live accounts (neither failed nor deleted): its
 * own limit, else `defaultLimit`; counted under the workspace lock, so concurrent creates cannot overshoot it.
 */
export async function insertAccount(
  pool: DatabasePool,
  account: NewAccount,
  defaultLimit: number | null = null,
  /** Called only when a row is about to be inserted (may throw to refuse it); its result undoes it if none was. */
  takeCreation?: () => () => void,
): Promise<{ row: AccountRow; created: boolean }> {
  return pool.transaction(async (tx) => {
    const existing = await findAccountBySession(tx, account.workspaceId, account.sessionId);
    if (existing) return { row: existing, created: false };
    await lockWorkspace(tx, account.workspaceId);
    const { live, limit } = await tx.one(sql.type(z.object({ live: z.number(), limit: z.number().nullable() }))`
      SELECT (SELECT count(*) FROM whatsapp_accounts
              WHERE workspace_id = ${account.workspaceId} AND deleted_at IS NULL AND status <> 'failed')::int AS live,
             COALESCE((SELECT max_live_accounts FROM workspaces WHERE id = ${account.workspaceId}), ${defaultLimit}::int) AS limit
    `);
    if (limit !== null && live >= limit) throw new AccountLimitReached(limit);
    const giveBack = takeCreation?.();
    let inserted: AccountRow | null;
    try {
      inserted = await tx.maybeOne(sql.type(accountRowSchema)`
        INSERT INTO whatsapp_accounts (workspace_id, session_id, metadata, device_name, browser_name,
                                       proxy_scheme, proxy_host, proxy_port, proxy_credentials)
        VALUES (${account.workspaceId}, ${account.sessionId}, ${sql.jsonb((account.metadata ?? {}) as never)},
                ${account.deviceName ?? null}, ${account.browserName ?? null},
                ${account.proxy?.scheme ?? null}, ${account.proxy?.host ?? null}, ${account.proxy?.port ?? null},
                ${account.proxy?.credentials ?? null})
        ON CONFLICT (workspace_id, session_id) DO NOTHING
        RETURNING *
      `);
    } catch (error) {
      giveBack?.();
      throw error;
    }
    if (inserted) {
      if (account.webhookUrl) {
        await setWebhookSetting(tx, {
          workspaceId: account.workspaceId,
          accountId: inserted.id,
          url: account.webhookUrl,
        });
      }
      return { row: inserted, created: true };
    }
    giveBack?.();
    // Another request created it meanwhile.
    const raced = await findAccountBySession(tx, account.workspaceId, account.sessionId);
    if (!raced) throw new AccountConflictError(`account ${account.sessionId} vanished while being created`);
    return { row: raced, created: false };
  });
}

/** Removes a row whose workflow never started (it wrote no event); a row with events is left to its workflow. */
export async function discardUnstartedAccount(db: CommonQueryMethods, accountId: number): Promise<void> {
  await db.query(sql.unsafe`
    DELETE FROM whatsapp_accounts a WHERE a.id = ${accountId}
      AND NOT EXISTS (SELECT 1 FROM account_events e WHERE e.account_id = a.id)
  `);
}

export async function findAccountBySession(
  db: CommonQueryMethods,
  workspaceId: string,
  sessionId: string,
): Promise<AccountRow | null> {
  return db.maybeOne(sql.type(accountRowSchema)`
    SELECT * FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
  `);
}

/** The account a session key names (workflows/ids.ts), for what knows a session only by its key. */
export async function findAccountBySessionKey(db: CommonQueryMethods, key: string): Promise<AccountRow | null> {
  const { workspaceId, sessionId } = splitSessionKey(key);
  return findAccountBySession(db, workspaceId, sessionId);
}

/**
 * Every account holding this session id in any workspace, live ones first, then oldest first: for what names a
 * session by its id alone (the legacy session API, the simulator's control surface) and picks among those it may see.
 */
export async function accountsWithSessionId(db: CommonQueryMethods, sessionId: string): Promise<readonly AccountRow[]> {
  return db.any(sql.type(accountRowSchema)`
    SELECT * FROM whatsapp_accounts WHERE session_id = ${sessionId} ORDER BY deleted_at IS NOT NULL, id
  `);
}

export interface StatusChange {
  sessionId: string;
  status: AccountStatus;
  eventType: AccountEventType;
  reason?: string | null;
  data?: Record<string, unknown>;
  /** Unique per change (the workflow derives it), so that an activity retry writes the change once. */
  dedupeKey: string;
}

/**
 * Writes a status change to the row and appends its event, in one transaction. A repeated dedupe key changes
 * nothing, and neither does a move the status flow forbids (a row that failed or was deleted stays so).
 */
export async function recordStatusChange(
  pool: DatabasePool,
  change: StatusChange,
): Promise<{ applied: boolean; row: AccountRow; eventIds: number[] }> {
  return pool.transaction(async (tx) => {
    const row = await lockAccount(tx, change.sessionId);
    const earlier = await appliedChange(tx, change.dedupeKey, row.workspace_id);
    if (earlier) return { applied: false, row, eventIds: earlier.eventIds };
    if (row.deleted_at !== null || !canMoveTo(row.status, change.status)) return { applied: false, row, eventIds: [] };
    if (row.status === 'qr_scanning' && change.status !== 'qr_scanning') await forgetLoginCodes(tx, row);
    const updated = await tx.one(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts
      SET status = ${change.status},
          failure_reason = ${change.status === 'failed' || change.status === 'disconnected' ? (change.reason ?? null) : null}
      WHERE id = ${row.id}
      RETURNING *
    `);
    if (change.status === 'connected') await markCanaryStartWorking(tx, row.id);
    if (change.status === 'connected' || change.status === 'failed')
      await endOnboardingLinksOf(tx, [row.id], change.status === 'connected' ? 'connected' : 'account_ended');
    const eventId = await appendAccountEvent(tx, row, {
      type: change.eventType,
      status: change.status,
      data: { ...(change.data ?? {}), ...(change.reason ? { reason: change.reason } : {}) },
      dedupeKey: change.dedupeKey,
    });
    return { applied: true, row: updated, eventIds: [eventId] };
  });
}

/**
 * Logs an event that changes no status (what the account waits for); a repeated dedupe key adds nothing. With a
 * `wait`, the row says so too, until its status changes or it shows a login code (sql/0018).
 */
export async function recordAccountEvent(
  pool: DatabasePool,
  event: {
    sessionId: string;
    eventType: AccountEventType;
    data: Record<string, unknown>;
    dedupeKey: string;
    wait?: AccountWait;
  },
): Promise<{ applied: boolean }> {
  return pool.transaction(async (tx) => {
    const row = await lockAccount(tx, event.sessionId);
    const seen = await tx.exists(sql.unsafe`SELECT 1 FROM account_events WHERE dedupe_key = ${event.dedupeKey}`);
    if (seen || row.deleted_at !== null || row.status === 'failed') return { applied: false };
    if (event.wait) {
      await tx.query(
        sql.unsafe`UPDATE whatsapp_accounts SET wait = ${sql.jsonb(event.wait as never)} WHERE id = ${row.id}`,
      );
    }
    // No status: the event changes none, and readers of the status flow skip it.
    await appendAccountEvent(tx, row, {
      type: event.eventType,
      status: null,
      data: event.wait ? { ...event.data, wait: event.wait } : event.data,
      dedupeKey: event.dedupeKey,
    });
    return { applied: true };
  });
}

/** Stores the newest QR on the row and logs it; a repeated dedupe key changes nothing. */
export async function recordLoginCode(
  pool: DatabasePool,
  code: {
    sessionId: string;
    kind: 'qr' | 'pairing_code';
    value: string;
    dedupeKey: string;
    timings?: Record<string, number>;
  },
): Promise<{ applied: boolean }> {
  return pool.transaction(async (tx) => {
    const row = await lockAccount(tx, code.sessionId);
    const seen = await tx.exists(sql.unsafe`SELECT 1 FROM account_events WHERE dedupe_key = ${code.dedupeKey}`);
    if (seen || row.deleted_at !== null || row.status === 'failed') return { applied: false };
    // The newest login offer wins. Once the account switched to a pairing code, its QRs are no longer offered: the
    // row and the event log forget them, and a QR the page showed before the switch but that arrives after it is
    // logged without its value. A QR shown after the code (a restarted session offering a QR again) replaces it.
    const emittedAt = code.timings?.emittedAt;
    const staleQr =
      code.kind === 'qr' &&
      row.pairing_code !== null &&
      (emittedAt === undefined || row.pairing_code_at === null || emittedAt <= row.pairing_code_at);
    if (staleQr) {
      // Nothing to update on the row: it holds the pairing code.
    } else if (code.kind === 'qr') {
      await tx.query(sql.unsafe`
        UPDATE whatsapp_accounts SET last_qr = ${code.value}, last_qr_at = now(), pairing_code = NULL, pairing_code_at = NULL
        WHERE id = ${row.id}
      `);
    } else {
      await tx.query(sql.unsafe`
        UPDATE whatsapp_accounts SET pairing_code = ${code.value}, pairing_code_at = now(), last_qr = NULL, last_qr_at = NULL
        WHERE id = ${row.id}
      `);
      await forgetShownQrs(tx, row);
    }
    // The page offered a login: on whatever build it runs, it works.
    await markCanaryStartWorking(tx, row.id);
    const value = staleQr ? {} : { [code.kind === 'qr' ? 'qr' : 'code']: code.value };
    await appendAccountEvent(tx, row, {
      type: code.kind,
      status: row.status,
      data: { ...value, ...(code.timings ?? {}) },
      dedupeKey: code.dedupeKey,
    });
    return { applied: true };
  });
}

export interface AccountPage {
  items: readonly AccountRow[];
  nextCursor: number | null;
}

/** A workspace's live accounts, oldest first, keyset-paginated on id (stable while rows are added). */
export async function listWorkspaceAccounts(
  db: CommonQueryMethods,
  query: { workspaceId: string; status?: AccountStatus; includeDeleted: boolean; limit: number; afterId: number },
): Promise<AccountPage> {
  const rows = await db.any(sql.type(accountRowSchema)`
    SELECT * FROM whatsapp_accounts
    WHERE workspace_id = ${query.workspaceId}
      AND id > ${query.afterId}
      AND (${query.status ?? null}::text IS NULL OR status = ${query.status ?? null})
      AND (${query.includeDeleted} OR deleted_at IS NULL)
    ORDER BY id
    LIMIT ${query.limit + 1}
  `);
  const items = rows.slice(0, query.limit);
  return { items, nextCursor: rows.length > query.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/**
 * The account row `a` has ended: deleted, failed, or logged out (a `disconnected` whose reason is an ending's kind,
 * domain/account-endings.ts). Nothing but a new account brings it back.
 */
export const ACCOUNT_ROW_ENDED = sql.fragment`(a.deleted_at IS NOT NULL OR a.status = 'failed'
  OR (a.status = 'disconnected'
    AND COALESCE(split_part(a.failure_reason, ':', 1) = ANY(${sql.array([...ENDED_WHILE_DISCONNECTED], 'text')}), false)))`;

/**
 * Of these session keys, those that name no account still live: none ever, or one that ended. What a host keeps of
 * such a session (its browser profile) is no longer anyone's.
 */
export async function endedSessionKeys(db: CommonQueryMethods, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const pairs = keys.map(splitSessionKey);
  const ended = await db.anyFirst(sql.type(z.object({ key: z.string() }))`
    SELECT k.workspace_id || '.' || k.session_id AS key
    FROM unnest(${sql.array(
      pairs.map((pair) => pair.workspaceId),
      'text',
    )}::text[], ${sql.array(
      pairs.map((pair) => pair.sessionId),
      'text',
    )}::text[]) AS k(workspace_id, session_id)
    WHERE NOT EXISTS (
      SELECT 1 FROM whatsapp_accounts a
      WHERE a.workspace_id = k.workspace_id AND a.session_id = k.session_id AND NOT ${ACCOUNT_ROW_ENDED}
    )
  `);
  return new Set(ended);
}

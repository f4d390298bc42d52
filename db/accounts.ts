import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { ACCOUNT_STATUSES, canMoveTo, type AccountStatus } from '../domain/account-status.js';
import { eventsOfAppliedChange } from './applied-changes.js';
import { lockWorkspace } from './workspace-lock.js';

export const accountRowSchema = z.object({
  id: z.number().int(),
  workspace_id: z.string(),
  session_id: z.string(),
  phone_number: z.string().nullable(),
  status: z.enum(ACCOUNT_STATUSES),
  is_primary: z.boolean(),
  push_name: z.string().nullable(),
  last_qr: z.string().nullable(),
  last_qr_at: z.number().nullable(),
  pairing_code: z.string().nullable(),
  pairing_code_at: z.number().nullable(),
  failure_reason: z.string().nullable(),
  last_connected_at: z.number().nullable(),
  metadata: z.record(z.unknown()),
  created_at: z.number(),
  updated_at: z.number(),
  deleted_at: z.number().nullable(),
  webhook_url: z.string().nullable(),
});
export type AccountRow = z.infer<typeof accountRowSchema>;

export const accountEventSchema = z.object({
  id: z.number().int(),
  account_id: z.number().int(),
  workspace_id: z.string(),
  session_id: z.string(),
  type: z.string(),
  status: z.enum(ACCOUNT_STATUSES).nullable(),
  data: z.record(z.unknown()),
  dedupe_key: z.string().nullable(),
  occurred_at: z.number(),
});
export type AccountEvent = z.infer<typeof accountEventSchema>;

export class AccountConflictError extends Error {
  override readonly name = 'AccountConflictError';
}

export interface NewAccount {
  workspaceId: string;
  sessionId: string;
  metadata?: Record<string, unknown>;
  webhookUrl?: string | null;
}

/** Inserts the row, or returns the one already there for this session id: the same request twice gives one account. */
export async function insertAccount(db: CommonQueryMethods, account: NewAccount): Promise<{ row: AccountRow; created: boolean }> {
  const inserted = await db.maybeOne(sql.type(accountRowSchema)`
    INSERT INTO whatsapp_accounts (workspace_id, session_id, metadata, webhook_url)
    VALUES (${account.workspaceId}, ${account.sessionId}, ${sql.jsonb((account.metadata ?? {}) as never)}, ${account.webhookUrl ?? null})
    ON CONFLICT (session_id) DO NOTHING
    RETURNING *
  `);
  if (inserted) return { row: inserted, created: true };
  const existing = await findAccountBySession(db, account.sessionId);
  if (!existing || existing.workspace_id !== account.workspaceId) {
    throw new AccountConflictError(`session id ${account.sessionId} belongs to another workspace`);
  }
  return { row: existing, created: false };
}

export async function findAccountBySession(db: CommonQueryMethods, sessionId: string): Promise<AccountRow | null> {
  return db.maybeOne(sql.type(accountRowSchema)`SELECT * FROM whatsapp_accounts WHERE session_id = ${sessionId}`);
}

export async function listAccountEvents(db: CommonQueryMethods, sessionId: string, limit = 100): Promise<readonly AccountEvent[]> {
  return db.any(sql.type(accountEventSchema)`
    SELECT * FROM account_events WHERE session_id = ${sessionId} ORDER BY id LIMIT ${limit}
  `);
}

export interface StatusChange {
  sessionId: string;
  status: AccountStatus;
  eventType: string;
  reason?: string | null;
  data?: Record<string, unknown>;
  /** Unique per change (the workflow derives it), so that an activity retry writes the change once. */
  dedupeKey: string;
}

/**
 * Writes a status change to the row and appends its event, in one transaction. A repeated dedupe key changes
 * nothing, and neither does a move the status flow forbids (a row that failed or was deleted stays so).
 */
export async function recordStatusChange(pool: DatabasePool, change: StatusChange): Promise<{ applied: boolean; row: AccountRow; eventIds: number[] }> {
  return pool.transaction(async (tx) => {
    const workspaceId = await workspaceOf(tx, change.sessionId);
    await lockWorkspace(tx, workspaceId);
    const row = await tx.one(sql.type(accountRowSchema)`
      SELECT * FROM whatsapp_accounts WHERE session_id = ${change.sessionId} FOR UPDATE
    `);
    const earlier = await eventsOfAppliedChange(tx, change.dedupeKey, row.workspace_id);
    if (earlier) return { applied: false, row, eventIds: earlier };
    if (row.deleted_at !== null || !canMoveTo(row.status, change.status)) return { applied: false, row, eventIds: [] };
    const updated = await tx.one(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts
      SET status = ${change.status},
          failure_reason = ${change.status === 'failed' || change.status === 'disconnected' ? (change.reason ?? null) : null}
      WHERE id = ${row.id}
      RETURNING *
    `);
    const eventId = await tx.oneFirst(sql.type(z.object({ id: z.number().int() }))`
      INSERT INTO account_events (account_id, workspace_id, session_id, type, status, data, dedupe_key)
      VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, ${change.eventType}, ${change.status},
              ${sql.jsonb({ ...(change.data ?? {}), ...(change.reason ? { reason: change.reason } : {}) } as never)}, ${change.dedupeKey})
      RETURNING id
    `);
    return { applied: true, row: updated, eventIds: [eventId] };
  });
}

/** Stores the newest QR on the row and logs it; a repeated dedupe key changes nothing. */
export async function recordLoginCode(
  pool: DatabasePool,
  code: { sessionId: string; kind: 'qr' | 'pairing_code'; value: string; dedupeKey: string; timings?: Record<string, number> },
): Promise<{ applied: boolean }> {
  return pool.transaction(async (tx) => {
    await lockWorkspace(tx, await workspaceOf(tx, code.sessionId));
    const row = await tx.one(sql.type(accountRowSchema)`SELECT * FROM whatsapp_accounts WHERE session_id = ${code.sessionId} FOR UPDATE`);
    const seen = await tx.exists(sql.unsafe`SELECT 1 FROM account_events WHERE dedupe_key = ${code.dedupeKey}`);
    if (seen || row.deleted_at !== null || row.status === 'failed') return { applied: false };
    if (code.kind === 'qr') {
      await tx.query(sql.unsafe`UPDATE whatsapp_accounts SET last_qr = ${code.value}, last_qr_at = now() WHERE id = ${row.id}`);
    } else {
      await tx.query(sql.unsafe`UPDATE whatsapp_accounts SET pairing_code = ${code.value}, pairing_code_at = now() WHERE id = ${row.id}`);
    }
    await tx.query(sql.unsafe`
      INSERT INTO account_events (account_id, workspace_id, session_id, type, status, data, dedupe_key)
      VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, ${code.kind}, ${row.status}, ${sql.jsonb({ [code.kind === 'qr' ? 'qr' : 'code']: code.value, ...(code.timings ?? {}) })}, ${code.dedupeKey})
    `);
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

export async function listRecentAccountEvents(db: CommonQueryMethods, sessionId: string, limit: number): Promise<readonly AccountEvent[]> {
  return db.any(sql.type(accountEventSchema)`
    SELECT * FROM (SELECT * FROM account_events WHERE session_id = ${sessionId} ORDER BY id DESC LIMIT ${limit}) recent ORDER BY id
  `);
}

/** Events of a workspace (or one account of it) after an event id, for WebSocket resume and fan-out. */
export async function listEventsAfter(
  db: CommonQueryMethods,
  scope: { workspaceId: string; sessionId: string | null; afterId: number; limit: number },
): Promise<readonly AccountEvent[]> {
  return db.any(sql.type(accountEventSchema)`
    SELECT * FROM account_events
    WHERE workspace_id = ${scope.workspaceId} AND id > ${scope.afterId}
      AND (${scope.sessionId}::text IS NULL OR session_id = ${scope.sessionId})
    ORDER BY id LIMIT ${scope.limit}
  `);
}

export async function setAccountWebhookUrl(db: CommonQueryMethods, sessionId: string, webhookUrl: string | null): Promise<void> {
  await db.query(sql.unsafe`UPDATE whatsapp_accounts SET webhook_url = ${webhookUrl} WHERE session_id = ${sessionId}`);
}

/** The workspace of an account (it never changes), read before the workspace lock is taken. */
async function workspaceOf(db: CommonQueryMethods, sessionId: string): Promise<string> {
  const workspaceId = await db.maybeOneFirst(sql.type(z.object({ workspace_id: z.string() }))`
    SELECT workspace_id FROM whatsapp_accounts WHERE session_id = ${sessionId}
  `);
  if (workspaceId === null) throw new AccountConflictError(`no account with session id ${sessionId}`);
  return workspaceId;
}

export async function latestEventId(db: CommonQueryMethods, workspaceId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ id: z.number().int() }))`
    SELECT COALESCE(max(id), 0)::int8 AS id FROM account_events WHERE workspace_id = ${workspaceId}
  `);
}

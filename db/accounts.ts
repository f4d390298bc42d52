import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { ACCOUNT_STATUSES, canMoveTo, type AccountStatus } from '../domain/account-status.js';

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
}

/** Inserts the row, or returns the one already there for this session id: the same request twice gives one account. */
export async function insertAccount(db: CommonQueryMethods, account: NewAccount): Promise<{ row: AccountRow; created: boolean }> {
  const inserted = await db.maybeOne(sql.type(accountRowSchema)`
    INSERT INTO whatsapp_accounts (workspace_id, session_id, metadata)
    VALUES (${account.workspaceId}, ${account.sessionId}, ${sql.jsonb((account.metadata ?? {}) as never)})
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
export async function recordStatusChange(pool: DatabasePool, change: StatusChange): Promise<{ applied: boolean; row: AccountRow }> {
  return pool.transaction(async (tx) => {
    const row = await tx.maybeOne(sql.type(accountRowSchema)`
      SELECT * FROM whatsapp_accounts WHERE session_id = ${change.sessionId} FOR UPDATE
    `);
    if (!row) throw new AccountConflictError(`no account with session id ${change.sessionId}`);
    const seen = await tx.exists(sql.unsafe`SELECT 1 FROM account_events WHERE dedupe_key = ${change.dedupeKey}`);
    if (seen || row.deleted_at !== null || !canMoveTo(row.status, change.status)) return { applied: false, row };
    const updated = await tx.one(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts
      SET status = ${change.status},
          failure_reason = ${change.status === 'failed' || change.status === 'disconnected' ? (change.reason ?? null) : null}
      WHERE id = ${row.id}
      RETURNING *
    `);
    await tx.query(sql.unsafe`
      INSERT INTO account_events (account_id, workspace_id, session_id, type, status, data, dedupe_key)
      VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, ${change.eventType}, ${change.status},
              ${sql.jsonb({ ...(change.data ?? {}), ...(change.reason ? { reason: change.reason } : {}) } as never)}, ${change.dedupeKey})
    `);
    return { applied: true, row: updated };
  });
}

/** Stores the newest QR on the row and logs it; a repeated dedupe key changes nothing. */
export async function recordLoginCode(
  pool: DatabasePool,
  code: { sessionId: string; kind: 'qr' | 'pairing_code'; value: string; dedupeKey: string },
): Promise<{ applied: boolean }> {
  return pool.transaction(async (tx) => {
    const row = await tx.maybeOne(sql.type(accountRowSchema)`SELECT * FROM whatsapp_accounts WHERE session_id = ${code.sessionId} FOR UPDATE`);
    if (!row) throw new AccountConflictError(`no account with session id ${code.sessionId}`);
    const seen = await tx.exists(sql.unsafe`SELECT 1 FROM account_events WHERE dedupe_key = ${code.dedupeKey}`);
    if (seen || row.deleted_at !== null || row.status === 'failed') return { applied: false };
    if (code.kind === 'qr') {
      await tx.query(sql.unsafe`UPDATE whatsapp_accounts SET last_qr = ${code.value}, last_qr_at = now() WHERE id = ${row.id}`);
    } else {
      await tx.query(sql.unsafe`UPDATE whatsapp_accounts SET pairing_code = ${code.value}, pairing_code_at = now() WHERE id = ${row.id}`);
    }
    await tx.query(sql.unsafe`
      INSERT INTO account_events (account_id, workspace_id, session_id, type, status, data, dedupe_key)
      VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, ${code.kind}, ${row.status}, ${sql.jsonb({ [code.kind === 'qr' ? 'qr' : 'code']: code.value })}, ${code.dedupeKey})
    `);
    return { applied: true };
  });
}

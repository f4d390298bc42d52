import type { AccountEventType } from '../domain/account-event-types.js';
import { sql, type CommonQueryMethods, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import { ACCOUNT_STATUSES, type AccountStatus } from '../domain/account-status.js';
import { EVENTS_NOT_SENT_AS_WEBHOOKS } from '../domain/webhook-events.js';
import type { AccountRow } from './account-row.js';

/**
 * The account event log: the one place events are appended and read. Appends happen inside a transaction that holds
 * the workspace lock (workspace-lock.ts), so a workspace's event ids commit in increasing order.
 */
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

export interface NewAccountEvent {
  type: AccountEventType;
  status: AccountStatus | null;
  data: Record<string, unknown>;
  /** The change that wrote it, so a retried change finds its events instead of writing them twice. */
  dedupeKey: string | null;
}

export async function appendAccountEvent(
  tx: DatabaseTransactionConnection,
  row: AccountRow,
  event: NewAccountEvent,
): Promise<number> {
  const id = await tx.oneFirst(sql.type(z.object({ id: z.number().int() }))`
    INSERT INTO account_events (account_id, workspace_id, session_id, type, status, data, dedupe_key)
    VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, ${event.type}, ${event.status},
            ${sql.jsonb(event.data as never)}, ${event.dedupeKey})
    RETURNING id
  `);
  // The webhook outbox, in the same transaction: the event goes out once this commits, whatever happens after. An
  // event of a workspace and account without any endpoint is not queued: nobody could want it, and every account
  // without webhooks would otherwise pay an insert, a notify, a claim and a delete for each of its events.
  if (!EVENTS_NOT_SENT_AS_WEBHOOKS.includes(event.type)) {
    await tx.query(sql.unsafe`
      INSERT INTO webhook_outbox (event_id)
      SELECT ${id} WHERE EXISTS (
        SELECT 1 FROM webhook_endpoints
        WHERE workspace_id = ${row.workspace_id} AND (account_id IS NULL OR account_id = ${row.id})
      )
    `);
  }
  return id;
}

/**
 * A QR or a pairing code is a login while it is shown. Once the account stops waiting for one (scanned, failed,
 * deleted) every code it was shown is removed, from its events and its row: the log keeps that a code was shown and
 * when, never the code.
 */
export async function forgetLoginCodes(tx: DatabaseTransactionConnection, row: AccountRow): Promise<void> {
  await tx.query(sql.unsafe`
    UPDATE account_events SET data = data - 'qr' - 'code'
    WHERE account_id = ${row.id} AND type IN ('qr', 'pairing_code') AND (data ? 'qr' OR data ? 'code')
  `);
  await tx.query(sql.unsafe`UPDATE whatsapp_accounts SET last_qr = NULL, pairing_code = NULL WHERE id = ${row.id}`);
}

/** The QRs an account was shown, removed from its events once it switched to a pairing code (see forgetLoginCodes). */
export async function forgetShownQrs(tx: DatabaseTransactionConnection, row: AccountRow): Promise<void> {
  await tx.query(sql.unsafe`
    UPDATE account_events SET data = data - 'qr' - 'code' WHERE account_id = ${row.id} AND type = 'qr' AND data ? 'qr'
  `);
}

/** What a change that was applied wrote: its events, and the older accounts it replaced (an activation's). */
export interface AppliedChange {
  eventIds: number[];
  replacedSessionIds: string[];
}

/**
 * What a change with this dedupe key wrote, or null when it has not been applied. A retry of a change that committed
 * (its result was lost with the process or the server that ran it) answers with the same events, so the workflow still
 * sends their webhooks, and names the accounts it replaced again: their workflows are told only by the workflow task
 * that takes the answer.
 */
export async function appliedChange(
  tx: DatabaseTransactionConnection,
  dedupeKey: string,
  workspaceId: string,
): Promise<AppliedChange | null> {
  const own = await tx.maybeOneFirst(
    sql.type(z.object({ id: z.number().int() }))`SELECT id FROM account_events WHERE dedupe_key = ${dedupeKey}`,
  );
  if (own === null) return null;
  const caused = await tx.any(sql.type(z.object({ id: z.number().int(), type: z.string(), session_id: z.string() }))`
    SELECT id, type, session_id FROM account_events
    WHERE workspace_id = ${workspaceId} AND data->>'causedBy' = ${dedupeKey} ORDER BY id
  `);
  return {
    eventIds: [...caused.map((event) => event.id), own].sort((a, b) => a - b),
    replacedSessionIds: caused.filter((event) => event.type === 'account_replaced').map((event) => event.session_id),
  };
}

export async function listAccountEvents(
  db: CommonQueryMethods,
  workspaceId: string,
  sessionId: string,
  limit = 100,
): Promise<readonly AccountEvent[]> {
  return db.any(sql.type(accountEventSchema)`
    SELECT * FROM account_events WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId} ORDER BY id LIMIT ${limit}
  `);
}

export async function listRecentAccountEvents(
  db: CommonQueryMethods,
  workspaceId: string,
  sessionId: string,
  limit: number,
): Promise<readonly AccountEvent[]> {
  return db.any(sql.type(accountEventSchema)`
    SELECT * FROM (
      SELECT * FROM account_events WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
      ORDER BY id DESC LIMIT ${limit}
    ) recent ORDER BY id
  `);
}

const accountEventWithMetadataSchema = accountEventSchema.extend({ account_metadata: z.record(z.unknown()) });
/** An event with the metadata its backend gave the account, so a subscriber routes it without a lookup. */
export type AccountEventWithMetadata = z.infer<typeof accountEventWithMetadataSchema>;

/** Events of a workspace (or one account of it) after an event id, for WebSocket resume and fan-out. */
export async function listEventsAfter(
  db: CommonQueryMethods,
  scope: { workspaceId: string; sessionId: string | null; afterId: number; limit: number },
): Promise<readonly AccountEventWithMetadata[]> {
  return db.any(sql.type(accountEventWithMetadataSchema)`
    SELECT e.*, a.metadata AS account_metadata
    FROM account_events e JOIN whatsapp_accounts a ON a.id = e.account_id
    WHERE e.workspace_id = ${scope.workspaceId} AND e.id > ${scope.afterId}
      AND (${scope.sessionId}::text IS NULL OR e.session_id = ${scope.sessionId})
    ORDER BY e.id LIMIT ${scope.limit}
  `);
}

export async function latestEventId(db: CommonQueryMethods, workspaceId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ id: z.number().int() }))`
    SELECT COALESCE(max(id), 0)::int8 AS id FROM account_events WHERE workspace_id = ${workspaceId}
  `);
}

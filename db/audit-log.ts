import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { PrincipalKind } from './workspaces.js';

/** Who acted: how the request's principal proved itself, or `anonymous` for a refused sign-in. */
/** `service`: the service itself (it disables a webhook endpoint that kept failing). */
export type AuditActorKind = PrincipalKind | 'anonymous' | 'service';

export type AuditOutcome = 'done' | 'refused' | 'failed';

export interface AuditEntry {
  workspaceId: string | null;
  actorKind: AuditActorKind;
  actorKeyPrefix: string | null;
  actorName: string;
  clientAddress: string;
  action: string;
  target: string | null;
  changes: Record<string, unknown>;
  statusCode: number;
  outcome: AuditOutcome;
  requestId: string;
}

export async function appendAuditEntry(db: CommonQueryMethods, entry: AuditEntry): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO audit_log (workspace_id, actor_kind, actor_key_prefix, actor_name, client_address, action, target,
                           changes, status_code, outcome, request_id)
    VALUES (${entry.workspaceId}, ${entry.actorKind}, ${entry.actorKeyPrefix}, ${entry.actorName},
            ${entry.clientAddress}, ${entry.action}, ${entry.target}, ${sql.jsonb(entry.changes as never)},
            ${entry.statusCode}, ${entry.outcome}, ${entry.requestId})
  `);
}

const auditRowSchema = z.object({
  id: z.coerce.number().int(),
  occurred_at: z.number(),
  workspace_id: z.string().nullable(),
  actor_kind: z.enum(['key', 'operator_session', 'legacy_keyless', 'metrics_token', 'anonymous', 'service']),
  actor_key_prefix: z.string().nullable(),
  actor_name: z.string(),
  client_address: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  changes: z.record(z.unknown()),
  status_code: z.number().int(),
  outcome: z.enum(['done', 'refused', 'failed']),
  request_id: z.string(),
});
export type AuditRow = z.infer<typeof auditRowSchema>;

/** Newest first; `beforeId` pages back. `workspaceId` undefined: every workspace's and the service's own. */
export async function listAuditEntries(
  db: CommonQueryMethods,
  query: { workspaceId?: string; beforeId?: number; limit: number },
): Promise<readonly AuditRow[]> {
  const conditions = [
    ...(query.workspaceId !== undefined ? [sql.fragment`workspace_id = ${query.workspaceId}`] : []),
    ...(query.beforeId !== undefined ? [sql.fragment`id < ${query.beforeId}`] : []),
  ];
  const where = conditions.length ? sql.fragment`WHERE ${sql.join(conditions, sql.fragment` AND `)}` : sql.fragment``;
  return db.any(sql.type(auditRowSchema)`
    SELECT * FROM audit_log ${where} ORDER BY id DESC LIMIT ${query.limit}
  `);
}

/** Removes entries older than `days` (at least one: younger ones are kept by the table itself). */
export async function forgetAuditEntriesOlderThan(db: CommonQueryMethods, days: number): Promise<number> {
  const result = await db.query(
    sql.unsafe`DELETE FROM audit_log WHERE occurred_at < now() - make_interval(days => ${days})`,
  );
  return result.rowCount;
}

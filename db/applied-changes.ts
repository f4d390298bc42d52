import { sql, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';

/**
 * The events a change with this dedupe key wrote, or null when it has not been applied. A retry of a change that
 * committed (its result was lost with the process or the server that ran it) answers with the same events, so
 * the workflow still sends their webhooks.
 */
export async function eventsOfAppliedChange(tx: DatabaseTransactionConnection, dedupeKey: string, workspaceId: string): Promise<number[] | null> {
  const own = await tx.maybeOneFirst(sql.type(z.object({ id: z.number().int() }))`SELECT id FROM account_events WHERE dedupe_key = ${dedupeKey}`);
  if (own === null) return null;
  const caused = await tx.anyFirst(sql.type(z.object({ id: z.number().int() }))`
    SELECT id FROM account_events WHERE workspace_id = ${workspaceId} AND data->>'causedBy' = ${dedupeKey} ORDER BY id
  `);
  return [...caused, own].sort((a, b) => a - b);
}

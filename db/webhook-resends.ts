import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';

export interface ResendPlace {
  resendId: string;
  workspaceId: string;
  endpointId: string;
}

/**
 * Takes a place for a resend or a replay when the workspace runs fewer than `atOnce`: whether it was taken. Starts
 * of one workspace take their places one at a time (a lock of the workspace's resends, apart from its events' lock),
 * so a burst of requests cannot all pass the count together.
 */
export async function takeResendPlace(pool: DatabasePool, place: ResendPlace, atOnce: number): Promise<boolean> {
  return pool.transaction(async (tx) => {
    await tx.query(
      sql.unsafe`SELECT pg_advisory_xact_lock(hashtextextended(${`wa-webhook-resends:${place.workspaceId}`}, 0))`,
    );
    const running = await tx.oneFirst(sql.type(z.object({ running: z.number() }))`
      SELECT count(*)::int AS running FROM webhook_resends WHERE workspace_id = ${place.workspaceId} AND ended_at IS NULL
    `);
    if (running >= atOnce) return false;
    await tx.query(sql.unsafe`
      INSERT INTO webhook_resends (resend_id, workspace_id, endpoint_id)
      VALUES (${place.resendId}, ${place.workspaceId}, ${place.endpointId})
    `);
    return true;
  });
}

/** The resends a workspace started and has not seen end. */
export async function unendedResends(db: CommonQueryMethods, workspaceId: string): Promise<readonly string[]> {
  return db.anyFirst(sql.type(z.object({ resend_id: z.string() }))`
    SELECT resend_id FROM webhook_resends WHERE workspace_id = ${workspaceId} AND ended_at IS NULL ORDER BY started_at
  `);
}

export async function markResendsEnded(db: CommonQueryMethods, resendIds: readonly string[]): Promise<void> {
  if (resendIds.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE webhook_resends SET ended_at = now()
    WHERE resend_id = ANY(${sql.array([...resendIds], 'text')}) AND ended_at IS NULL
  `);
}

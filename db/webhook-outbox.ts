import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { eventsWithWebhookTargets } from './webhook-deliveries.js';

export interface DispatchRound {
  /** Events this round took out of the outbox, with a target or without. */
  dispatched: number;
  /** Deliveries it started (or found started). */
  started: number;
  /** Events left queued because their start failed: a later round tries them again. */
  leftQueued: number;
}

/**
 * One round of the outbox (sql/0024): in one transaction, claims up to `limit` queued events (rows other hosts hold
 * are skipped), asks `start` to start the deliveries of those with a webhook target, and takes out every claimed
 * event except those whose start failed. `start` answers the ids it started; a host that dies mid-round holds no
 * claim afterwards (its transaction rolls back), so no event is lost.
 */
export async function dispatchQueuedEvents(
  pool: DatabasePool,
  limit: number,
  start: (eventIds: readonly number[]) => Promise<ReadonlySet<number>>,
): Promise<DispatchRound> {
  return pool.transaction(async (tx) => {
    const claimed = await tx.anyFirst(sql.type(z.object({ event_id: z.number().int() }))`
      SELECT event_id FROM webhook_outbox ORDER BY event_id LIMIT ${limit} FOR UPDATE SKIP LOCKED
    `);
    if (claimed.length === 0) return { dispatched: 0, started: 0, leftQueued: 0 };
    const withTargets = await eventsWithWebhookTargets(tx, claimed);
    const started = withTargets.length ? await start(withTargets) : new Set<number>();
    const failed = new Set(withTargets.filter((id) => !started.has(id)));
    const done = claimed.filter((id) => !failed.has(id));
    await tx.query(sql.unsafe`DELETE FROM webhook_outbox WHERE event_id = ANY(${sql.array(done, 'int8')})`);
    return { dispatched: done.length, started: started.size, leftQueued: failed.size };
  });
}

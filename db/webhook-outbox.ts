import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { recordMissedDeliveries, webhookRoutes, type WebhookRoute } from './webhook-deliveries.js';

export interface DispatchRound {
  /** Events this round took out of the outbox, with a target or without. */
  dispatched: number;
  /** Deliveries it started (or found started): one per event and endpoint. */
  started: number;
  /** Events left queued because their start failed: a later round tries them again. */
  leftQueued: number;
}

/**
 * One round of the outbox (sql/0024): in one transaction, claims up to `limit` queued events written by processes of
 * `taskQueue` (or by one that named none; rows other hosts hold are skipped), asks `start` to start a delivery for each endpoint an event goes to (db/webhook-deliveries.ts
 * webhookRoutes), records those an endpoint disabled for failing misses, and takes out every claimed event except
 * those with a start that failed. `start` answers the routes it started; a host that dies mid-round holds
 * no claim afterwards (its transaction rolls back), so no event is lost.
 */
export async function dispatchQueuedEvents(
  pool: DatabasePool,
  limit: number,
  taskQueue: string,
  start: (routes: readonly WebhookRoute[]) => Promise<ReadonlySet<WebhookRoute>>,
): Promise<DispatchRound> {
  return pool.transaction(async (tx) => {
    const claimed = await tx.anyFirst(sql.type(z.object({ event_id: z.number().int() }))`
      SELECT event_id FROM webhook_outbox WHERE task_queue IS NULL OR task_queue = ${taskQueue}
      ORDER BY event_id LIMIT ${limit} FOR UPDATE SKIP LOCKED
    `);
    if (claimed.length === 0) return { dispatched: 0, started: 0, leftQueued: 0 };
    const routes = await webhookRoutes(tx, claimed);
    const sent = routes.filter((route) => route.send);
    const started = sent.length ? await start(sent) : new Set<WebhookRoute>();
    const failed = new Set(sent.filter((route) => !started.has(route)).map((route) => route.event_id));
    await recordMissedDeliveries(tx, routes);
    const done = claimed.filter((id) => !failed.has(id));
    await tx.query(sql.unsafe`DELETE FROM webhook_outbox WHERE event_id = ANY(${sql.array(done, 'int8')})`);
    return { dispatched: done.length, started: started.size, leftQueued: failed.size };
  });
}

import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { eventsWithWebhookTargets } from '../db/webhook-deliveries.js';
import { withTemporalDeadline } from './dependency-outage.js';
import { startEachDelivery, webhookDelivery } from '../workflows/webhook-delivery.js';

/** Starts the delivery workflows of events the API itself wrote (a primary change), as the account workflow does. */
export async function startWebhookDeliveries(
  pool: DatabasePool,
  temporal: Client,
  taskQueue: string,
  eventIds: number[],
): Promise<void> {
  await startEachDelivery([...(await eventsWithWebhookTargets(pool, eventIds))], (workflowId, eventId) =>
    withTemporalDeadline(temporal, () =>
      temporal.workflow.start(webhookDelivery, { taskQueue, workflowId, args: [{ eventId }] }),
    ),
  );
}

import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { eventsWithWebhookTargets } from '../db/webhook-deliveries.js';
import { webhookDelivery } from '../workflows/webhook-delivery.js';

/** Starts the delivery workflows of events the API itself wrote (a primary change), as the account workflow does. */
export async function startWebhookDeliveries(pool: DatabasePool, temporal: Client, taskQueue: string, eventIds: number[]): Promise<void> {
  for (const eventId of await eventsWithWebhookTargets(pool, eventIds)) {
    await temporal.workflow.start(webhookDelivery, { taskQueue, workflowId: `webhook-${eventId}`, args: [{ eventId }] }).catch((error: unknown) => {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    });
  }
}

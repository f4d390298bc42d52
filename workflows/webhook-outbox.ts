import { WorkflowIdReusePolicy } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/index.js';
import { checkedInput, isCount, readableResults, type Fields } from './payload-checks.js';
import { startEachDelivery, webhookDelivery } from './webhook-delivery.js';

export interface WebhookOutboxInput {
  /** Leave events this young to the writer that is starting their delivery itself. */
  olderThanSeconds: number;
  /** Look back this far (a delivery's own history outlives it, so an event is never delivered twice). */
  withinSeconds: number;
  limit: number;
}

export const WEBHOOK_OUTBOX_DEFAULTS: WebhookOutboxInput = { olderThanSeconds: 60, withinSeconds: 3_600, limit: 500 };

const { eventsAwaitingDelivery } = readableResults(
  proxyActivities<WebhookActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 3 },
  }),
);

/**
 * Run by a schedule every minute: starts the delivery of every recent event that has a webhook target and never had
 * one started (its writer committed and then died). A delivery that exists already, running or finished, is left
 * alone: its workflow id is the event's and a finished one is not started again.
 */
export async function webhookOutbox(outboxInput: WebhookOutboxInput = WEBHOOK_OUTBOX_DEFAULTS): Promise<number> {
  const input = checkedInput<WebhookOutboxInput>(outboxInput, isWebhookOutboxInput, 'webhookOutbox');
  const eventIds = await eventsAwaitingDelivery(input);
  await startEachDelivery(eventIds, (workflowId, eventId) =>
    startChild(webhookDelivery, {
      workflowId,
      args: [{ eventId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    }),
  );
  return eventIds.length;
}

function isWebhookOutboxInput(fields: Fields): boolean {
  return isCount(fields.olderThanSeconds) && isCount(fields.withinSeconds) && isCount(fields.limit);
}

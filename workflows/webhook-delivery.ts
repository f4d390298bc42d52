import { ActivityFailure, ApplicationFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/index.js';
import { checkedInput, isAbsentOr, isCount, isName, readableResults, type Fields } from './payload-checks.js';

export interface WebhookDeliveryInput {
  eventId: number;
  endpointId: string;
  /** A redelivery is a user's resend of one delivery: the same event (and `webhook-id`), marked as such in the log. */
  kind: 'delivery' | 'redelivery';
  /** Keep trying for this long (default 25 h: at least a day, as receivers expect). */
  retryForMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

// One attempt per activity: the workflow owns the schedule, so it can add jitter and count attempts.
const { deliverWebhook } = readableResults(
  proxyActivities<WebhookActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 1 },
  }),
);

/**
 * Delivers one event to one endpoint at least once (the workflow's id is the delivery's): exponential backoff with full jitter between attempts, for at least a day;
 * no retry when the receiver says the request itself is wrong. Its own workflow, so a slow or dead receiver never
 * holds up the account's workflow.
 */
export async function webhookDelivery(
  deliveryInput: WebhookDeliveryInput,
): Promise<{ delivered: boolean; attempts: number }> {
  const input = checkedInput<WebhookDeliveryInput>(deliveryInput, isWebhookDeliveryInput, 'webhookDelivery');
  const retryForMs = input.retryForMs ?? 25 * 60 * 60_000;
  const initialDelayMs = input.initialDelayMs ?? 2_000;
  const maxDelayMs = input.maxDelayMs ?? 60 * 60_000;
  const giveUpAt = Date.now() + retryForMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await deliverWebhook({
        eventId: input.eventId,
        endpointId: input.endpointId,
        deliveryId: workflowInfo().workflowId,
        kind: input.kind,
        attempt,
      });
      // An endpoint deleted or disabled meanwhile ends its deliveries.
      if (result.endpointGone) return { delivered: false, attempts: attempt };
      return { delivered: result.delivered, attempts: attempt };
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      if (cause instanceof ApplicationFailure && cause.nonRetryable) return { delivered: false, attempts: attempt };
      const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      if (Date.now() + delay > giveUpAt) return { delivered: false, attempts: attempt };
      await sleep(delay);
    }
  }
}

function isWebhookDeliveryInput(fields: Fields): boolean {
  return (
    Number.isSafeInteger(fields.eventId) &&
    isName(fields.endpointId) &&
    (fields.kind === 'delivery' || fields.kind === 'redelivery') &&
    isAbsentOr(fields.retryForMs, isCount) &&
    isAbsentOr(fields.initialDelayMs, isCount) &&
    isAbsentOr(fields.maxDelayMs, isCount)
  );
}

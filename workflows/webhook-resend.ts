import { proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/index.js';
import type { WebhookResendInput } from '../activities/webhooks.js';
import { checkedInput, isCount, isName, readableResults, type Fields } from './payload-checks.js';

export type { WebhookResendInput } from '../activities/webhooks.js';

// One activity sends the whole run, in order, keeping its place in its heartbeat: a worker that dies mid-run hands
// the rest to the next attempt, which starts at the event it stopped on. An event the receiver keeps refusing stops
// the run after these attempts (its deliveries show why), rather than skipping it.
const { resendWebhookEvents } = readableResults(
  proxyActivities<WebhookActivities>({
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 8 },
  }),
);

/** A resend of an endpoint's failed deliveries, or a replay of events since an id, to one endpoint. */
export async function webhookResend(resendInput: WebhookResendInput): Promise<{ sent: number; lastEventId: number }> {
  const input = checkedInput<WebhookResendInput>(resendInput, isWebhookResendInput, 'webhookResend');
  return resendWebhookEvents(input);
}

function isWebhookResendInput(fields: Fields): boolean {
  return (
    isName(fields.workspaceId) &&
    isName(fields.endpointId) &&
    (fields.mode === 'failed' || fields.mode === 'replay') &&
    (fields.failedSince === null || typeof fields.failedSince === 'string') &&
    Number.isSafeInteger(fields.afterEventId) &&
    (fields.accountId === null || Number.isSafeInteger(fields.accountId)) &&
    isCount(fields.perSecond) &&
    fields.perSecond > 0
  );
}

import { urlRefusal, type WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import { fieldProblem } from './problem.js';

/** Refuses, at the moment it is set, a webhook URL the network policy would never deliver to. */
export function assertWebhookUrl(url: string | null | undefined, policy: WebhookNetworkPolicy, field = '/webhookUrl') {
  if (url === null || url === undefined) return;
  const refusal = urlRefusal(url, policy);
  if (refusal) throw fieldProblem(422, 'webhook_url_refused', 'Unprocessable Content', field, refusal);
}

import { ApplicationFailure } from '@temporalio/activity';
import type { DatabasePool } from 'slonik';
import type { Keyring } from '../lib/keyring.js';
import { findWebhookTarget, recordDeliveryAttempt } from '../db/webhook-deliveries.js';
import { webhookPayload } from '../webhooks/payload.js';
import type { WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import { postWebhook, WebhookRefused, type PostLimits } from '../webhooks/post.js';
import { signedHeaders } from '../webhooks/signing.js';

/** Answers a receiver gives when the request itself is wrong: retrying the same request cannot help. */
export const PERMANENT_REJECTIONS = [400, 401, 403, 404, 410, 422];

export function createWebhookActivities(
  pool: DatabasePool,
  keyring: Keyring,
  policy: WebhookNetworkPolicy,
  limits?: PostLimits,
) {
  return {
    /**
     * One delivery attempt: POST the signed event, record the attempt (status, latency, error) whatever happens.
     * Fails retryably on network errors, timeouts and 5xx; permanently on the rejections above and on a target the
     * network policy refuses.
     */
    async deliverWebhook(input: {
      eventId: number;
      attempt: number;
    }): Promise<{ delivered: boolean; statusCode: number | null }> {
      const target = await findWebhookTarget(pool, keyring, input.eventId);
      if (!target) return { delivered: false, statusCode: null };
      const body = JSON.stringify(webhookPayload(target.event, target.account));
      const timestamp = Math.floor(Date.now() / 1000);
      const startedAt = performance.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      let refused = false;
      try {
        const headers = {
          'content-type': 'application/json',
          'user-agent': 'wa-connect-webhooks/1',
          ...signedHeaders(target.secrets, `evt_${target.event.id}`, timestamp, body),
        };
        statusCode = await postWebhook({ url: target.url, headers, body }, policy, limits);
        if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
      } catch (caught) {
        refused = caught instanceof WebhookRefused;
        const message = caught instanceof Error ? caught.message : String(caught);
        error = refused ? `refused by the webhook network policy: ${message}` : message;
      }
      const delivered = error === null;
      await recordDeliveryAttempt(pool, {
        eventId: target.event.id,
        workspaceId: target.event.workspace_id,
        sessionId: target.event.session_id,
        url: target.url,
        attempt: input.attempt,
        delivered,
        statusCode,
        latencyMs: Math.round(performance.now() - startedAt),
        error,
      });
      if (delivered) return { delivered, statusCode };
      if (refused) throw ApplicationFailure.nonRetryable(error ?? 'refused', 'WebhookRefused');
      if (statusCode !== null && PERMANENT_REJECTIONS.includes(statusCode)) {
        throw ApplicationFailure.nonRetryable(`the receiver rejected the event: ${error}`, 'WebhookRejected');
      }
      throw ApplicationFailure.retryable(`delivery failed: ${error}`, 'WebhookFailed');
    },
  };
}

import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { DatabasePool } from 'slonik';
import type { Keyring } from '../lib/keyring.js';
import { appendAuditEntry } from '../db/audit-log.js';
import {
  failedEventIds,
  findWebhookTarget,
  recordDeliveryAttempt,
  replayEventIds,
  type WebhookTarget,
} from '../db/webhook-deliveries.js';
import { noteEndpointAttempt } from '../db/webhook-endpoints.js';
import { webhookPayload } from '../webhooks/payload.js';
import type { WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import { postWebhook, WebhookRefused, type PostLimits } from '../webhooks/post.js';
import { signedHeaders } from '../webhooks/signing.js';

/** Answers a receiver gives when the request itself is wrong: retrying the same request cannot help. */
export const PERMANENT_REJECTIONS = [400, 401, 403, 404, 410, 422];

/** A resend tries each event this often, a second apart and more, before it stops there (and is retried from there). */
const RESEND_TRIES_PER_EVENT = 3;
/** Events a resend reads at once. */
const RESEND_PAGE = 100;

/** What a resend or a replay sends (workflows/webhook-resend.ts). */
export interface WebhookResendInput {
  workspaceId: string;
  endpointId: string;
  /** `failed`: the events whose deliveries to the endpoint since `failedSince` all failed; `replay`: every event. */
  mode: 'failed' | 'replay';
  /** For `failed`: an ISO time. */
  failedSince: string | null;
  /** Only events after this one (0: from the first). */
  afterEventId: number;
  /** For `replay`: one account's events only (an account endpoint's always are). */
  accountId: number | null;
  perSecond: number;
}

type Outcome = { delivered: boolean; statusCode: number | null; error: string | null; refused: boolean };

export function createWebhookActivities(
  pool: DatabasePool,
  keyring: Keyring,
  policy: WebhookNetworkPolicy,
  limits?: PostLimits,
) {
  /**
   * One attempt: POST the signed event to the endpoint, record the attempt (status, latency, error) whatever happens,
   * and how the endpoint fares (a long failing stretch disables it). The `webhook-id` is the event's, whichever
   * delivery sends it, so a receiver drops a repeat.
   */
  const attempt = async (
    target: WebhookTarget,
    delivery: { deliveryId: string; kind: 'delivery' | 'redelivery' | 'replay'; attempt: number },
  ): Promise<Outcome> => {
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
      statusCode = await postWebhook({ url: target.endpoint.url, headers, body }, policy, limits);
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (caught) {
      refused = caught instanceof WebhookRefused;
      const message = caught instanceof Error ? caught.message : String(caught);
      error = refused ? `refused by the webhook network policy: ${message}` : message;
    }
    const delivered = error === null;
    await recordDeliveryAttempt(pool, {
      ...delivery,
      eventId: target.event.id,
      eventType: target.event.type,
      endpointId: target.endpoint.id,
      workspaceId: target.event.workspace_id,
      sessionId: target.event.session_id,
      url: target.endpoint.url,
      delivered,
      statusCode,
      latencyMs: Math.round(performance.now() - startedAt),
      error,
    });
    const fared = await noteEndpointAttempt(pool, target.endpoint.id, delivered);
    if (fared.disabled) await noticeDisabled(target, fared.failingSince);
    return { delivered, statusCode, error, refused };
  };

  const noticeDisabled = async (target: WebhookTarget, failingSince: number | null) => {
    const since = failingSince === null ? 'long' : new Date(failingSince).toISOString();
    log.warn('a webhook endpoint failed every attempt for days and was disabled', {
      endpointId: target.endpoint.id,
      workspaceId: target.endpoint.workspace_id,
      failingSince: since,
    });
    await appendAuditEntry(pool, {
      workspaceId: target.endpoint.workspace_id,
      actorKind: 'service',
      actorKeyPrefix: null,
      actorName: 'webhook delivery',
      clientAddress: 'service',
      action: 'disable webhook endpoint',
      target: target.endpoint.id,
      changes: { enabled: false, reason: 'failing', failingSince: since },
      statusCode: 200,
      outcome: 'done',
      requestId: `${target.endpoint.id}-disabled-${Date.now()}`,
    });
  };

  return {
    /**
     * One attempt of a delivery workflow. Fails retryably on network errors, timeouts and 5xx; permanently on the
     * rejections above and on a target the network policy refuses. `endpointGone`: the endpoint was deleted or
     * disabled meanwhile, so the delivery ends.
     */
    async deliverWebhook(input: {
      eventId: number;
      endpointId: string;
      deliveryId: string;
      kind: 'delivery' | 'redelivery';
      attempt: number;
    }): Promise<{ delivered: boolean; statusCode: number | null; endpointGone: boolean }> {
      const target = await findWebhookTarget(pool, keyring, input.eventId, input.endpointId);
      if (!target || !target.endpoint.enabled) return { delivered: false, statusCode: null, endpointGone: true };
      const outcome = await attempt(target, input);
      if (outcome.delivered) return { delivered: true, statusCode: outcome.statusCode, endpointGone: false };
      if (outcome.refused) throw ApplicationFailure.nonRetryable(outcome.error ?? 'refused', 'WebhookRefused');
      if (outcome.statusCode !== null && PERMANENT_REJECTIONS.includes(outcome.statusCode)) {
        throw ApplicationFailure.nonRetryable(`the receiver rejected the event: ${outcome.error}`, 'WebhookRejected');
      }
      throw ApplicationFailure.retryable(`delivery failed: ${outcome.error}`, 'WebhookFailed');
    },

    /**
     * A resend (the failed deliveries of an endpoint since a time) or a replay (every event since an id): sends the
     * events in order, one at a time, at most `perSecond`, each as a delivery of its own marked as such. An event that
     * fails its tries stops the run there, so nothing after it goes out first; the activity's retry resumes from
     * that event (its heartbeat keeps the place).
     */
    async resendWebhookEvents(input: WebhookResendInput): Promise<{ sent: number; lastEventId: number }> {
      const context = Context.current();
      const place = context.info.heartbeatDetails as { lastEventId: number; sent: number } | undefined;
      let lastEventId = place?.lastEventId ?? input.afterEventId;
      let sent = place?.sent ?? 0;
      const gapMs = 1000 / input.perSecond;
      const resendId = context.info.workflowExecution?.workflowId ?? context.info.activityId;
      const kind = input.mode === 'replay' ? 'replay' : 'redelivery';
      for (;;) {
        const eventIds =
          input.mode === 'replay'
            ? await replayEventIds(pool, {
                endpointId: input.endpointId,
                accountId: input.accountId,
                afterEventId: lastEventId,
                limit: RESEND_PAGE,
              })
            : await failedEventIds(pool, {
                endpointId: input.endpointId,
                since: new Date(input.failedSince ?? 0),
                afterEventId: lastEventId,
                limit: RESEND_PAGE,
              });
        if (eventIds.length === 0) return { sent, lastEventId };
        for (const eventId of eventIds) {
          const began = Date.now();
          const target = await findWebhookTarget(pool, keyring, eventId, input.endpointId);
          if (!target || !target.endpoint.enabled) return { sent, lastEventId };
          for (let tryNumber = 1; ; tryNumber += 1) {
            const outcome = await attempt(target, {
              deliveryId: `${resendId}-${eventId}`,
              kind,
              attempt: (context.info.attempt - 1) * RESEND_TRIES_PER_EVENT + tryNumber,
            });
            if (outcome.delivered) break;
            if (tryNumber === RESEND_TRIES_PER_EVENT) {
              throw ApplicationFailure.retryable(
                `event ${eventId} was not delivered: ${outcome.error}`,
                'ResendStopped',
              );
            }
            await context.sleep(1_000 * tryNumber);
          }
          lastEventId = eventId;
          sent += 1;
          context.heartbeat({ lastEventId, sent });
          await context.sleep(Math.max(0, gapMs - (Date.now() - began)));
        }
      }
    },
  };
}

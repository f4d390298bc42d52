import type { AccountEvent } from '../db/account-events.js';
import type { AccountRow } from '../db/account-row.js';
import { accountEventType, isWebhookEventType, type WebhookEventType } from '../domain/account-event-types.js';
import type { WebhookPayload } from './payload-schema.js';

export type { WebhookPayload } from './payload-schema.js';

/** The JSON a backend receives for an account event. The connect event is `session_ready`, as the earlier Node service's. */
export function webhookPayload(event: AccountEvent, account: AccountRow): WebhookPayload {
  return {
    event: webhookEventType(event.type),
    eventId: event.id,
    sessionId: event.session_id,
    workspaceId: event.workspace_id,
    status: event.status,
    // The phone at the time of the event when it names one (session_ready), else the account's current one.
    phoneNumber: typeof event.data.phoneNumber === 'string' ? event.data.phoneNumber : account.phone_number,
    isPrimary: account.is_primary,
    occurredAt: new Date(event.occurred_at).toISOString(),
    data: event.data,
    metadata: account.metadata,
  };
}

/** Only the catalogue's webhook events are sent (the outbox never queues the others). */
function webhookEventType(type: string): WebhookEventType {
  const known = accountEventType(type);
  if (!isWebhookEventType(known)) throw new TypeError(`${type} events are not sent as webhooks`);
  return known;
}

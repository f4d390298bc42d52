import type { AccountEvent } from '../db/account-events.js';
import type { AccountRow } from '../db/account-row.js';

/** The JSON a backend receives for an account event. The connect event is `session_ready`, as the earlier Node service's. */
export interface WebhookPayload {
  event: string;
  eventId: number;
  sessionId: string;
  workspaceId: string;
  status: string | null;
  phoneNumber: string | null;
  isPrimary: boolean;
  occurredAt: string;
  data: Record<string, unknown>;
  /** What the backend gave the account when it created it: a receiver routes the event without a lookup. */
  metadata: Record<string, unknown>;
}

export function webhookPayload(event: AccountEvent, account: AccountRow): WebhookPayload {
  return {
    event: event.type,
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

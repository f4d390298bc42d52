import type { AccountEventType } from './account-event-types.js';
import { WAIT_EVENT_TYPES } from './account-wait.js';

/**
 * Events backends are not sent: login codes rotate every 20 s and go to browsers over WebSocket, and what an account
 * waits for (a host, an engine start, the next attempt) is progress shown on the account, not a change of its status.
 * Backends hear about status changes.
 */
export const EVENTS_NOT_SENT_AS_WEBHOOKS: readonly string[] = [
  'qr',
  'pairing_code',
  ...WAIT_EVENT_TYPES,
] satisfies AccountEventType[];

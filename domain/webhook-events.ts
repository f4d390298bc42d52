import { ACCOUNT_EVENT_TYPES, ACCOUNT_EVENTS } from './account-event-types.js';

/**
 * Events backends are not sent: login codes rotate every 20 s and go to browsers over WebSocket, and what an account
 * waits for (a host, an engine start, the next attempt) is progress shown on the account, not a change of its status.
 * Backends hear about status changes. The catalogue (account-event-types.ts) says which is which.
 */
export const EVENTS_NOT_SENT_AS_WEBHOOKS: readonly string[] = ACCOUNT_EVENT_TYPES.filter(
  (type) => !ACCOUNT_EVENTS[type].webhook,
);

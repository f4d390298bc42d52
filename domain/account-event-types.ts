import { WAIT_EVENT_TYPES } from './account-wait.js';

/**
 * The event catalogue: every event the service writes to an account's log, and so every `type` a webhook or an event
 * stream can carry, listed once with what it means and whether backends are sent it. The webhook payload's schema
 * (webhooks/payload-schema.ts) and the OpenAPI document are built from it.
 */
export const ACCOUNT_EVENTS = {
  // The account's status flow.
  session_created: { webhook: true, description: 'The account was created; it starts on a host and shows a QR soon.' },
  authenticated: { webhook: true, description: 'The phone scanned the QR or typed the code; WhatsApp logs in.' },
  session_ready: {
    webhook: true,
    description: 'Connected: the account works. Carries the phone number, the push name and the measured timings.',
  },
  disconnected: {
    webhook: true,
    description: 'The connection dropped (or a restart was asked); the account reconnects by itself from its login.',
  },
  // How an account ends (domain/account-endings.ts).
  session_failed: { webhook: true, description: 'The account failed for good; `data.reason` says why.' },
  logged_out: { webhook: true, description: 'The device was unlinked (on the phone or through the API).' },
  session_deleted: { webhook: true, description: 'The account was deleted: logged out, its login removed.' },
  // Another account of the same phone took over this one.
  account_replaced: {
    webhook: true,
    description: 'Another account of the workspace linked the same phone: this one failed and was removed.',
  },
  primary_changed: {
    webhook: true,
    description: "The workspace's primary account changed; `data.isPrimary` says how.",
  },
  // Login codes: shown to browsers, never sent to backends.
  qr: { webhook: false, description: 'A new QR to scan (the stream only: it is a login while it is shown).' },
  pairing_code: { webhook: false, description: 'A pairing code to type on the phone (the stream only).' },
  // What the account waits for: progress, not a change of status.
  waiting_for_host: { webhook: false, description: 'Every host is full: the account waits for a free seat.' },
  engine_starting: { webhook: false, description: 'A host is starting the WhatsApp client.' },
  engine_retry_scheduled: {
    webhook: false,
    description: "The client's start failed; the next attempt is scheduled (`data.wait` says when and why).",
  },
} as const satisfies Record<string, { webhook: boolean; description: string }>;

export type AccountEventType = keyof typeof ACCOUNT_EVENTS;

export const ACCOUNT_EVENT_TYPES = Object.keys(ACCOUNT_EVENTS) as AccountEventType[];

/** The events backends are sent: status changes. */
export type WebhookEventType = {
  [Type in AccountEventType]: (typeof ACCOUNT_EVENTS)[Type]['webhook'] extends true ? Type : never;
}[AccountEventType];

export function isWebhookEventType(type: AccountEventType): type is WebhookEventType {
  return ACCOUNT_EVENTS[type].webhook;
}

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = ACCOUNT_EVENT_TYPES.filter(isWebhookEventType);

export function isAccountEventType(type: string): type is AccountEventType {
  return Object.hasOwn(ACCOUNT_EVENTS, type);
}

/** Narrows a type that crossed a boundary as text (a workflow's activity input); an unknown one is a bug upstream. */
export function accountEventType(type: string): AccountEventType {
  if (!isAccountEventType(type)) throw new TypeError(`unknown account event type ${JSON.stringify(type)}`);
  return type;
}

/** Checked by the compiler: every wait event (named in domain/account-wait.ts) is in the catalogue. */
const _waitEventsListed: readonly AccountEventType[] = WAIT_EVENT_TYPES;

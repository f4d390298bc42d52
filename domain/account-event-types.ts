import { WAIT_EVENT_TYPES } from './account-wait.js';

/**
 * Every event the service writes to an account's log, and so every `type` a webhook or an event stream can carry.
 * The log's readers still take any text: rows written before a type was retired stay readable.
 */
export const ACCOUNT_EVENT_TYPES = [
  // The account's status flow.
  'session_created',
  'authenticated',
  'session_ready',
  'disconnected',
  // How an account ends (domain/account-endings.ts).
  'session_failed',
  'logged_out',
  'session_deleted',
  // Another account of the same phone took over this one.
  'account_replaced',
  'primary_changed',
  // Login codes: shown to browsers, never sent to backends.
  'qr',
  'pairing_code',
  // What the account waits for: progress, not a change of status.
  ...WAIT_EVENT_TYPES,
] as const;

export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];

export function isAccountEventType(type: string): type is AccountEventType {
  return (ACCOUNT_EVENT_TYPES as readonly string[]).includes(type);
}

/** Narrows a type that crossed a boundary as text (a workflow's activity input); an unknown one is a bug upstream. */
export function accountEventType(type: string): AccountEventType {
  if (!isAccountEventType(type)) throw new TypeError(`unknown account event type ${JSON.stringify(type)}`);
  return type;
}

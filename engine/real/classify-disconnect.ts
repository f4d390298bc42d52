import type { DisconnectKind } from '../types.js';

/**
 * whatsapp-web.js reports why a session ended as WhatsApp Web's socket state (or 'LOGOUT'). What the account
 * workflow needs is what to do about it.
 */
export function classifyDisconnect(reason: unknown): DisconnectKind {
  switch (String(reason)) {
    case 'LOGOUT':
    case 'UNPAIRED':
    case 'UNPAIRED_IDLE':
      return 'logout';
    case 'TOS_BLOCK':
    case 'SMB_TOS_BLOCK':
      return 'banned';
    case 'CONFLICT':
      return 'conflict';
    default:
      // Network, timeouts, proxies, an unlaunched socket, a crashed browser: the saved auth still holds.
      return 'transient';
  }
}

/** The library throws strings as well as Errors: always a readable message. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

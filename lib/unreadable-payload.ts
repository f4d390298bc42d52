/**
 * What the payload codec (lib/payload-encryption.ts) hands on in place of a payload it cannot read: plain JSON that
 * says why, and nothing of what it could not read. Workflow code imports this too, so it imports nothing.
 */
export type UnreadableReason = 'not encrypted' | 'unknown key' | 'authentication failed' | 'malformed';

export interface UnreadablePayload {
  unreadablePayload: UnreadableReason;
}

export function isUnreadablePayload(value: unknown): value is UnreadablePayload {
  return typeof value === 'object' && value !== null && 'unreadablePayload' in value;
}

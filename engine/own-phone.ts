import { isPhoneNumber } from '../domain/phone-number.js';
import type { EngineSession } from './types.js';

/** What one look at a session's own identity found. */
export type OwnPhoneReading =
  | { kind: 'phone'; phoneNumber: string; pushName: string | null }
  /** WhatsApp has not provided the own identity yet: it can lag behind `ready`, so ask again later. */
  | { kind: 'not_yet' }
  /** The identity holds no phone number (an `@lid` id WhatsApp cannot resolve, or no digits): asking again is useless. */
  | { kind: 'unresolvable'; reason: string };

/** Reads the session's own phone number once, resolving an internal `@lid` id when WhatsApp knows its number. */
export async function readOwnPhone(session: EngineSession): Promise<OwnPhoneReading> {
  const identity = await session.ownIdentity();
  if (!identity) return { kind: 'not_yet' };
  const [user = '', server = ''] = identity.id.split('@');
  let phoneNumber: string | null = user;
  if (server === 'lid' || identity.id.endsWith('@lid')) {
    phoneNumber = await session.resolveLid(identity.id);
    if (!phoneNumber)
      return {
        kind: 'unresolvable',
        reason: `the own id ${identity.id} is an internal @lid id with no known phone number`,
      };
  }
  if (!isPhoneNumber(phoneNumber))
    return { kind: 'unresolvable', reason: `the own id ${identity.id} holds no phone number` };
  return { kind: 'phone', phoneNumber, pushName: identity.pushName };
}

import { isPhoneNumber } from '../domain/phone-number.js';
import type { EngineSession, LoggedInIdentity } from './types.js';

/** What one look at a session's own identity found. */
export type OwnPhoneReading =
  | ({ kind: 'phone' } & LoggedInIdentity)
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
  const lid = server === 'lid' || identity.id.endsWith('@lid') ? identity.id : identity.lid;
  return {
    kind: 'phone',
    phoneNumber,
    pushName: identity.pushName,
    lid: isLid(lid) ? lid : null,
    platform: identity.platform,
  };
}

/** Only a well-formed `@lid` id is kept (the database checks the same). */
function isLid(id: string | null): id is string {
  return id !== null && /^[0-9]{1,40}@lid$/.test(id);
}

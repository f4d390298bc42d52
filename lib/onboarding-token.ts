import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * The secret part of an onboarding link's URL: `<link id>.<expiry, unix seconds>.<signature>.<key id>`, the signature
 * an HMAC-SHA256 of the id and the expiry under the `onboarding-links` key. A forged, altered or expired token is
 * refused before any lookup; the database keeps no token, so a copy of it opens no link.
 */
export interface OnboardingToken {
  linkId: string;
  expiresAt: Date;
}

const LINK_ID = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

export function newOnboardingLinkId(): string {
  return randomBytes(16).toString('base64url');
}

export function signOnboardingToken(keyring: Keyring, token: OnboardingToken): string {
  const expiry = Math.floor(token.expiresAt.getTime() / 1000);
  const key = keyring.key(keyring.activeKeyId, 'onboarding-links');
  if (!key) throw new Error('the active key is missing from the keyring');
  return `${token.linkId}.${expiry}.${signature(key, token.linkId, expiry)}.${keyring.activeKeyId}`;
}

export type TokenReading = { ok: true; token: OnboardingToken } | { ok: false; reason: 'invalid' | 'expired' };

/** What a token says, once its signature holds; `expired` only for a genuine token past its time. */
export function readOnboardingToken(keyring: Keyring, text: string, now = Date.now()): TokenReading {
  const [linkId = '', expiryText = '', given = '', ...keyIdParts] = text.split('.');
  const keyId = keyIdParts.join('.');
  if (!LINK_ID.test(linkId) || !/^[0-9]{1,12}$/.test(expiryText) || !SIGNATURE.test(given) || keyId === '')
    return { ok: false, reason: 'invalid' };
  const key = keyring.key(keyId, 'onboarding-links');
  if (!key) return { ok: false, reason: 'invalid' };
  const expiry = Number(expiryText);
  const expected = Buffer.from(signature(key, linkId, expiry));
  if (!timingSafeEqual(expected, Buffer.from(given))) return { ok: false, reason: 'invalid' };
  if (expiry * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true, token: { linkId, expiresAt: new Date(expiry * 1000) } };
}

function signature(key: Buffer, linkId: string, expiry: number): string {
  return createHmac('sha256', key).update(`onboarding-link ${linkId} ${expiry}`).digest('base64url');
}

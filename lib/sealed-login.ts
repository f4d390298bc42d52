import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * A saved WhatsApp login at rest: envelope encryption. Each save gets a fresh data key; the login is sealed with it
 * (AES-256-GCM), and the data key is sealed with the keyring's saved-logins key of the active id. Both seals bind the
 * session id as associated data, so a sealed login copied onto another session's row does not open. A database dump
 * holds ciphertext and key ids only.
 */
export interface SealedLogin {
  keyId: string;
  /** nonce | sealed data key | tag */
  wrappedKey: Buffer;
  /** nonce | sealed login | tag */
  data: Buffer;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function sealLogin(keyring: Keyring, sessionId: string, login: Buffer): SealedLogin {
  const keyId = keyring.activeKeyId;
  const kek = requireKey(keyring, keyId);
  const dataKey = randomBytes(32);
  return { keyId, wrappedKey: seal(kek, sessionId, dataKey), data: seal(dataKey, sessionId, login) };
}

export function openLogin(keyring: Keyring, sessionId: string, sealed: SealedLogin): Buffer {
  const dataKey = open(requireKey(keyring, sealed.keyId), sessionId, sealed.wrappedKey);
  return open(dataKey, sessionId, sealed.data);
}

function requireKey(keyring: Keyring, keyId: string): Buffer {
  const key = keyring.key(keyId, 'saved-logins');
  if (!key) throw new Error(`no key ${keyId} in ENCRYPTION_KEYS: this saved login cannot be opened`);
  return key;
}

function seal(key: Buffer, sessionId: string, plain: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(sessionId));
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, sessionId: string, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(sessionId));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring, KeyUse } from './keyring.js';

/**
 * A short secret at rest in a text column: AES-256-GCM under the keyring's key for its use, its owner bound as
 * associated data, so a sealed value copied onto another row does not open. Stored as
 * `sealed1:<key id>:<base64 of nonce | ciphertext | tag>`; the prefix is what the columns' check constraints ask of
 * every value.
 */
export const SEALED_PREFIX = 'sealed1:';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** What a secret is and whose it is: `use` picks the key, `purpose` and `owner` bind the sealed value. */
export interface SealedTextKind {
  use: KeyUse;
  purpose: string;
  /** Names the secret in errors: "webhook secret", "proxy login". */
  what: string;
}

const associatedData = (kind: SealedTextKind, owner: string) => Buffer.from(`${kind.purpose}\u0000${owner}`);

export function isSealedText(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/** The key id a sealed value names (null when it is not sealed). */
export function sealedTextKeyId(value: string): string | null {
  if (!isSealedText(value)) return null;
  const rest = value.slice(SEALED_PREFIX.length);
  return rest.slice(0, rest.indexOf(':'));
}

export function sealText(keyring: Keyring, kind: SealedTextKind, owner: string, text: string): string {
  const keyId = keyring.activeKeyId;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', requireKey(keyring, kind, keyId), nonce);
  cipher.setAAD(associatedData(kind, owner));
  const sealed = Buffer.concat([nonce, cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEALED_PREFIX}${keyId}:${sealed.toString('base64')}`;
}

/** Opens a sealed value; `notSealed` is the error for a value stored in clear (never used as it is). */
export function openSealedText(
  keyring: Keyring,
  kind: SealedTextKind,
  owner: string,
  value: string,
  notSealed: () => Error,
): string {
  const keyId = sealedTextKeyId(value);
  if (keyId === null) throw notSealed();
  const sealed = Buffer.from(value.slice(SEALED_PREFIX.length + keyId.length + 1), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', requireKey(keyring, kind, keyId), sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData(kind, owner));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}

function requireKey(keyring: Keyring, kind: SealedTextKind, keyId: string): Buffer {
  const key = keyring.key(keyId, kind.use);
  if (!key) throw new Error(`no key ${keyId} in ENCRYPTION_KEYS: this ${kind.what} cannot be opened`);
  return key;
}

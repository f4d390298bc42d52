import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * A webhook signing secret at rest: AES-256-GCM under the keyring's webhook-secrets key, its owner bound as associated
 * data (the workspace id, or `workspace/endpoint` for an endpoint's own), so a sealed secret copied onto another
 * row does not open. Stored as text
 * (`sealed1:<key id>:<base64 of nonce | ciphertext | tag>`) in the columns that once held the secret itself; the
 * prefix is what the table's check constraint asks of every new value.
 */
export const SEALED_PREFIX = 'sealed1:';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const associatedData = (workspaceId: string) => Buffer.from(`webhook-secret\u0000${workspaceId}`);

export function isSealedWebhookSecret(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

export function sealWebhookSecret(keyring: Keyring, workspaceId: string, secret: string): string {
  const keyId = keyring.activeKeyId;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', requireKey(keyring, keyId), nonce);
  cipher.setAAD(associatedData(workspaceId));
  const sealed = Buffer.concat([nonce, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEALED_PREFIX}${keyId}:${sealed.toString('base64')}`;
}

/** The key id a sealed value names (null when it is not sealed). */
export function sealedWebhookSecretKeyId(value: string): string | null {
  if (!isSealedWebhookSecret(value)) return null;
  const rest = value.slice(SEALED_PREFIX.length);
  return rest.slice(0, rest.indexOf(':'));
}

export function openWebhookSecret(keyring: Keyring, workspaceId: string, value: string): string {
  const keyId = sealedWebhookSecretKeyId(value);
  if (keyId === null) {
    // Never used as is: a value written in clear (before sealing, or by hand) is what a dump would expose.
    throw new Error(
      `the webhook secret of workspace ${workspaceId} is not sealed: run npm run keys -- reencrypt-webhook-secrets`,
    );
  }
  const sealed = Buffer.from(value.slice(SEALED_PREFIX.length + keyId.length + 1), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', requireKey(keyring, keyId), sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData(workspaceId));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}

function requireKey(keyring: Keyring, keyId: string): Buffer {
  const key = keyring.key(keyId, 'webhook-secrets');
  if (!key) throw new Error(`no key ${keyId} in ENCRYPTION_KEYS: this webhook secret cannot be opened`);
  return key;
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * A proxy's username and password at rest: AES-256-GCM under the keyring's proxy-credentials key, bound to their
 * owner (`<workspace>` for the workspace default, `<workspace>/<session>` for an account's own), so a sealed value
 * copied onto another row does not open. Text of the form `sealed1:<key id>:<base64 of nonce | ciphertext | tag>`.
 */
const PREFIX = 'sealed1:';

interface ProxyCredentials {
  username: string;
  password: string;
}
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const associatedData = (owner: string) => Buffer.from(`proxy-credentials\u0000${owner}`);

export function sealProxyCredentials(keyring: Keyring, owner: string, credentials: ProxyCredentials): string {
  const keyId = keyring.activeKeyId;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', requireKey(keyring, keyId), nonce);
  cipher.setAAD(associatedData(owner));
  const plain = JSON.stringify({ username: credentials.username, password: credentials.password });
  const sealed = Buffer.concat([nonce, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${keyId}:${sealed.toString('base64')}`;
}

export function openProxyCredentials(keyring: Keyring, owner: string, value: string): ProxyCredentials {
  if (!value.startsWith(PREFIX)) throw new Error(`the proxy credentials of ${owner} are not sealed`);
  const rest = value.slice(PREFIX.length);
  const keyId = rest.slice(0, rest.indexOf(':'));
  const sealed = Buffer.from(rest.slice(keyId.length + 1), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', requireKey(keyring, keyId), sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData(owner));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plain = Buffer.concat([
    decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
  const parsed = JSON.parse(plain) as ProxyCredentials;
  return { username: parsed.username, password: parsed.password };
}

function requireKey(keyring: Keyring, keyId: string): Buffer {
  const key = keyring.key(keyId, 'proxy-credentials');
  if (!key) throw new Error(`no key ${keyId} in ENCRYPTION_KEYS: these proxy credentials cannot be opened`);
  return key;
}

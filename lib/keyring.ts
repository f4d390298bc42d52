import { hkdfSync, randomBytes } from 'node:crypto';

/**
 * The service's keys (`ENCRYPTION_KEYS`): comma-separated `id:base64` entries of 32-byte keys, the active one first.
 * Each use gets a key of its own derived from them (HKDF-SHA256 with the use as info), so Temporal payloads and saved
 * logins never share a key. To rotate, put a new entry first and keep the old ones while data written with them may
 * still be read; `npm run keys -- reencrypt-logins`, `reencrypt-webhook-secrets` and `reencrypt-proxy-credentials`
 * move what they seal to the active key.
 */
export interface Keyring {
  activeKeyId: string;
  /** The key of this id for this use, or null when the keyring has no such id. */
  key(keyId: string, use: KeyUse): Buffer | null;
}

export type KeyUse =
  'temporal-payloads' | 'saved-logins' | 'webhook-secrets' | 'proxy-credentials' | 'onboarding-links';

export function parseKeyring(value: string): Keyring {
  const masters = new Map<string, Buffer>();
  const entries = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), 'base64');
    // The position only: an entry without a well-formed id may be a bare key, and this message reaches logs.
    if (separator < 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(id))
      throw new Error(`key entry ${index + 1} must be id:base64 (an id of letters, digits, _ . -, then a colon)`);
    if (key.length !== 32) throw new Error(`key ${id} must be 32 bytes of base64, not ${key.length}`);
    masters.set(id, key);
  }
  const activeKeyId = masters.keys().next().value;
  if (activeKeyId === undefined) throw new Error('no key given');
  const derived = new Map<string, Buffer>();
  return {
    activeKeyId,
    key(keyId, use) {
      const cacheKey = `${keyId}\u0000${use}`;
      const cached = derived.get(cacheKey);
      if (cached) return cached;
      const master = masters.get(keyId);
      if (!master) return null;
      const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `wa-connect ${use}`, 32));
      derived.set(cacheKey, key);
      return key;
    },
  };
}

/** A new random entry for ENCRYPTION_KEYS. */
export function newKeyEntry(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** The keyring ENCRYPTION_KEYS holds. */
export function keyringFromEnv(env: Record<string, unknown> & { ENCRYPTION_KEYS?: string | undefined }): Keyring {
  if (!env.ENCRYPTION_KEYS) throw new Error('ENCRYPTION_KEYS is not set: nothing can be encrypted');
  return parseKeyring(env.ENCRYPTION_KEYS);
}

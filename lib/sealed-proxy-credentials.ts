import type { Keyring } from './keyring.js';
import { openSealedText, sealText } from './sealed-text.js';

/**
 * A proxy's username and password at rest (lib/sealed-text.ts), under the keyring's proxy-credentials key and bound
 * to their owner: `<workspace>` for the workspace default, `<workspace>/<session>` for an account's own.
 */
const PROXY_LOGIN = { use: 'proxy-credentials', purpose: 'proxy-credentials', what: 'proxy login' } as const;

interface ProxyCredentials {
  username: string;
  password: string;
}

export function sealProxyCredentials(keyring: Keyring, owner: string, credentials: ProxyCredentials): string {
  const plain = JSON.stringify({ username: credentials.username, password: credentials.password });
  return sealText(keyring, PROXY_LOGIN, owner, plain);
}

export function openProxyCredentials(keyring: Keyring, owner: string, value: string): ProxyCredentials {
  const plain = openSealedText(
    keyring,
    PROXY_LOGIN,
    owner,
    value,
    () => new Error(`the proxy credentials of ${owner} are not sealed`),
  );
  const parsed = JSON.parse(plain) as ProxyCredentials;
  return { username: parsed.username, password: parsed.password };
}

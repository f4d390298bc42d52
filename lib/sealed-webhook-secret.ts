import type { Keyring } from './keyring.js';
import { isSealedText, openSealedText, sealedTextKeyId, sealText, SEALED_PREFIX } from './sealed-text.js';

/**
 * A webhook signing secret at rest (lib/sealed-text.ts), under the keyring's webhook-secrets key and bound to its
 * owner: the workspace id, or `workspace/endpoint` for an endpoint's own. Stored in the columns that once held the
 * secret itself.
 */
export { SEALED_PREFIX };

const WEBHOOK_SECRET = { use: 'webhook-secrets', purpose: 'webhook-secret', what: 'webhook secret' } as const;

export const isSealedWebhookSecret = isSealedText;
export const sealedWebhookSecretKeyId = sealedTextKeyId;

export function sealWebhookSecret(keyring: Keyring, workspaceId: string, secret: string): string {
  return sealText(keyring, WEBHOOK_SECRET, workspaceId, secret);
}

export function openWebhookSecret(keyring: Keyring, workspaceId: string, value: string): string {
  // Never used as is: a value written in clear (before sealing, or by hand) is what a dump would expose.
  return openSealedText(
    keyring,
    WEBHOOK_SECRET,
    workspaceId,
    value,
    () =>
      new Error(
        `the webhook secret of workspace ${workspaceId} is not sealed: run npm run keys -- reencrypt-webhook-secrets`,
      ),
  );
}

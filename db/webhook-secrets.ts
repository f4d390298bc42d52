import { randomBytes } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Keyring } from '../lib/keyring.js';
import {
  isSealedWebhookSecret,
  openWebhookSecret,
  SEALED_PREFIX,
  sealWebhookSecret,
} from '../lib/sealed-webhook-secret.js';

/** How long a rotated-out signing secret still signs deliveries (beside the new one). */
export const SECRET_ROTATION_GRACE = '24 hours';

export interface WebhookSecrets {
  /** The secret deliveries are signed with. */
  current: string;
  /** The rotated-out secret while its grace period lasts, else null. */
  previous: string | null;
}

// Standard Webhooks' secret format: whsec_ + base64 of the key bytes.
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const secretsRow = z.object({ webhook_secret: z.string(), previous: z.string().nullable() });

/**
 * A workspace's signing secrets, opened; null when the workspace does not exist. A workspace is created, and a secret
 * rotated out, without a current secret (that needs the keyring, which not every writer of the row holds): the first
 * process that needs one issues it, sealed, and every other reader then opens that same one.
 */
export async function webhookSecrets(
  db: CommonQueryMethods,
  keyring: Keyring,
  workspaceId: string,
): Promise<WebhookSecrets | null> {
  await db.query(sql.unsafe`
    UPDATE workspaces SET webhook_secret = ${sealWebhookSecret(keyring, workspaceId, newSecret())}
    WHERE id = ${workspaceId} AND webhook_secret IS NULL
  `);
  const row = await db.maybeOne(sql.type(secretsRow)`
    SELECT webhook_secret,
           CASE WHEN secret_rotated_at > now() - ${SECRET_ROTATION_GRACE}::interval THEN previous_webhook_secret END AS previous
    FROM workspaces WHERE id = ${workspaceId} AND webhook_secret IS NOT NULL
  `);
  if (!row) return null;
  return {
    current: openWebhookSecret(keyring, workspaceId, row.webhook_secret),
    previous: row.previous === null ? null : openWebhookSecret(keyring, workspaceId, row.previous),
  };
}

const storedRow = z.object({
  id: z.string(),
  webhook_secret: z.string().nullable(),
  previous_webhook_secret: z.string().nullable(),
});

/**
 * Seals every signing secret still in clear (rows from before sealing) and, unless `onlyClear`, moves every sealed one
 * to the active key; answers how many rows it changed and which workspaces it could not open (a key no longer in the
 * keyring, or a tampered value). Safe beside running processes: a row changed meanwhile is left to the next run.
 */
export async function reencryptWebhookSecrets(
  db: CommonQueryMethods,
  keyring: Keyring,
  options: { onlyClear?: boolean } = {},
): Promise<{ moved: number; unreadable: string[] }> {
  const keep = options.onlyClear ? SEALED_PREFIX : `${SEALED_PREFIX}${keyring.activeKeyId}:`;
  const rows = await db.any(sql.type(storedRow)`
    SELECT id, webhook_secret, previous_webhook_secret FROM workspaces
    WHERE NOT starts_with(COALESCE(webhook_secret, ${keep}), ${keep})
       OR NOT starts_with(COALESCE(previous_webhook_secret, ${keep}), ${keep})
    ORDER BY id
  `);
  let moved = 0;
  const unreadable: string[] = [];
  const reseal = (workspaceId: string, value: string | null) => {
    if (value === null || value.startsWith(keep)) return value;
    const secret = isSealedWebhookSecret(value) ? openWebhookSecret(keyring, workspaceId, value) : value;
    return sealWebhookSecret(keyring, workspaceId, secret);
  };
  for (const row of rows) {
    let current: string | null;
    let previous: string | null;
    try {
      current = reseal(row.id, row.webhook_secret);
      previous = reseal(row.id, row.previous_webhook_secret);
    } catch {
      unreadable.push(row.id);
      continue;
    }
    const updated = await db.query(sql.unsafe`
      UPDATE workspaces SET webhook_secret = ${current}, previous_webhook_secret = ${previous}
      WHERE id = ${row.id} AND webhook_secret IS NOT DISTINCT FROM ${row.webhook_secret}
        AND previous_webhook_secret IS NOT DISTINCT FROM ${row.previous_webhook_secret}
    `);
    moved += updated.rowCount;
  }
  return { moved, unreadable };
}

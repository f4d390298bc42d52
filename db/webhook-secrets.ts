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
export const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60_000;

export interface WebhookSecrets {
  /** The secret deliveries are signed with. */
  current: string;
  /** The rotated-out secret while its grace period lasts, else null. */
  previous: string | null;
}

// Standard Webhooks' secret format: whsec_ + base64 of the key bytes.
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

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
    UPDATE workspaces SET webhook_secret = ${sealWebhookSecret(keyring, workspaceId, newWebhookSecret())}
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
  owner: z.string(),
  current: z.string().nullable(),
  previous: z.string().nullable(),
});

/** Where signing secrets are kept: the workspaces' (bound to the workspace) and the endpoints' own (to both ids). */
const SECRET_HOMES = [
  { table: 'workspaces', owner: sql.fragment`id`, current: 'webhook_secret', previous: 'previous_webhook_secret' },
  {
    table: 'webhook_endpoints',
    owner: sql.fragment`workspace_id || '/' || id`,
    current: 'secret',
    previous: 'previous_secret',
  },
] as const;

/**
 * Seals every signing secret still in clear (rows from before sealing) and, unless `onlyClear`, moves every sealed one
 * to the active key, the workspaces' and the endpoints'; answers how many rows it changed and which it could not open
 * (a key no longer in the keyring, or a tampered value). Safe beside running processes: a row changed meanwhile is
 * left to the next run.
 */
export async function reencryptWebhookSecrets(
  db: CommonQueryMethods,
  keyring: Keyring,
  options: { onlyClear?: boolean } = {},
): Promise<{ moved: number; unreadable: string[] }> {
  const keep = options.onlyClear ? SEALED_PREFIX : `${SEALED_PREFIX}${keyring.activeKeyId}:`;
  let moved = 0;
  const unreadable: string[] = [];
  const reseal = (owner: string, value: string | null) => {
    if (value === null || value.startsWith(keep)) return value;
    const secret = isSealedWebhookSecret(value) ? openWebhookSecret(keyring, owner, value) : value;
    return sealWebhookSecret(keyring, owner, secret);
  };
  for (const home of SECRET_HOMES) {
    const table = sql.identifier([home.table]);
    const currentColumn = sql.identifier([home.current]);
    const previousColumn = sql.identifier([home.previous]);
    const rows = await db.any(sql.type(storedRow)`
      SELECT id, ${home.owner} AS owner, ${currentColumn} AS current, ${previousColumn} AS previous FROM ${table}
      WHERE NOT starts_with(COALESCE(${currentColumn}, ${keep}), ${keep})
         OR NOT starts_with(COALESCE(${previousColumn}, ${keep}), ${keep})
      ORDER BY id
    `);
    for (const row of rows) {
      let current: string | null;
      let previous: string | null;
      try {
        current = reseal(row.owner, row.current);
        previous = reseal(row.owner, row.previous);
      } catch {
        unreadable.push(row.id);
        continue;
      }
      const updated = await db.query(sql.unsafe`
        UPDATE ${table} SET ${currentColumn} = ${current}, ${previousColumn} = ${previous}
        WHERE id = ${row.id} AND ${currentColumn} IS NOT DISTINCT FROM ${row.current}
          AND ${previousColumn} IS NOT DISTINCT FROM ${row.previous}
      `);
      moved += updated.rowCount;
    }
  }
  return { moved, unreadable };
}

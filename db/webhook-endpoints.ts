import { randomBytes } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Keyring } from '../lib/keyring.js';
import { openWebhookSecret, sealWebhookSecret } from '../lib/sealed-webhook-secret.js';
import { newWebhookSecret, SECRET_ROTATION_GRACE_MS, webhookSecrets, type WebhookSecrets } from './webhook-secrets.js';

/**
 * Where a workspace's events go (sql/0030): endpoints of the workspace or of one account, each with the event types it
 * wants and its own signing secret. The single-URL settings are endpoints of their own kind (`setting`), kept by
 * `setWebhookSetting`, signed with the workspace's secret.
 */
export const webhookEndpointSchema = z.object({
  id: z.string(),
  workspace_id: z.string(),
  account_id: z.number().int().nullable(),
  /** The account's session id when the endpoint is an account's. */
  session_id: z.string().nullable(),
  setting: z.enum(['workspace_webhook', 'account_webhook']).nullable(),
  url: z.string(),
  event_types: z.array(z.string()).nullable(),
  description: z.string(),
  enabled: z.boolean(),
  disabled_at: z.number().nullable(),
  disabled_reason: z.enum(['failing', 'api']).nullable(),
  failing_since: z.number().nullable(),
  secret: z.string().nullable(),
  previous_secret: z.string().nullable(),
  secret_rotated_at: z.number().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type WebhookEndpointRow = z.infer<typeof webhookEndpointSchema>;

const selectEndpoints = sql.fragment`
  SELECT p.*, a.session_id FROM webhook_endpoints p LEFT JOIN whatsapp_accounts a ON a.id = p.account_id
`;

const newEndpointId = () => `we_${randomBytes(12).toString('hex')}`;

/** An endpoint's own secret is bound to its workspace and its id: copied onto another row, it does not open. */
const secretOwner = (workspaceId: string, endpointId: string) => `${workspaceId}/${endpointId}`;

export interface NewWebhookEndpoint {
  workspaceId: string;
  accountId: number | null;
  url: string;
  eventTypes: readonly string[] | null;
  description: string;
  enabled: boolean;
}

export async function createWebhookEndpoint(
  db: CommonQueryMethods,
  keyring: Keyring,
  endpoint: NewWebhookEndpoint,
): Promise<WebhookEndpointRow> {
  const id = newEndpointId();
  const secret = sealWebhookSecret(keyring, secretOwner(endpoint.workspaceId, id), newWebhookSecret());
  await db.query(sql.unsafe`
    INSERT INTO webhook_endpoints (id, workspace_id, account_id, url, event_types, description, enabled, disabled_at,
                                   disabled_reason, secret)
    VALUES (${id}, ${endpoint.workspaceId}, ${endpoint.accountId}, ${endpoint.url}, ${eventTypesArray(endpoint.eventTypes)},
            ${endpoint.description}, ${endpoint.enabled}, ${endpoint.enabled ? null : sql.fragment`now()`},
            ${endpoint.enabled ? null : 'api'}, ${secret})
  `);
  const row = await findWebhookEndpoint(db, endpoint.workspaceId, id);
  if (!row) throw new Error(`webhook endpoint ${id} vanished`);
  return row;
}

const eventTypesArray = (eventTypes: readonly string[] | null) =>
  eventTypes === null ? null : sql.array([...new Set(eventTypes)].sort(), 'text');

export async function findWebhookEndpoint(
  db: CommonQueryMethods,
  workspaceId: string,
  endpointId: string,
): Promise<WebhookEndpointRow | null> {
  return db.maybeOne(sql.type(webhookEndpointSchema)`
    ${selectEndpoints} WHERE p.workspace_id = ${workspaceId} AND p.id = ${endpointId}
  `);
}

/** The workspace's endpoints, oldest first; with `accountId`, only that account's own. */
export async function listWebhookEndpoints(
  db: CommonQueryMethods,
  workspaceId: string,
  accountId?: number,
): Promise<readonly WebhookEndpointRow[]> {
  const scope = accountId === undefined ? sql.fragment`` : sql.fragment`AND p.account_id = ${accountId}`;
  return db.any(sql.type(webhookEndpointSchema)`
    ${selectEndpoints} WHERE p.workspace_id = ${workspaceId} ${scope} ORDER BY p.created_at, p.id
  `);
}

export interface WebhookEndpointChange {
  url?: string;
  eventTypes?: readonly string[] | null;
  description?: string;
  enabled?: boolean;
  rotateSecret?: boolean;
}

/**
 * Changes an endpoint; null when there is none of that id. Enabling clears the failing stretch (the receiver is said
 * to be back); a rotated-out secret keeps signing beside the new one for the grace period.
 */
export async function updateWebhookEndpoint(
  db: CommonQueryMethods,
  keyring: Keyring,
  workspaceId: string,
  endpointId: string,
  change: WebhookEndpointChange,
): Promise<WebhookEndpointRow | null> {
  const sets = [
    ...(change.url !== undefined ? [sql.fragment`url = ${change.url}`] : []),
    ...(change.eventTypes !== undefined ? [sql.fragment`event_types = ${eventTypesArray(change.eventTypes)}`] : []),
    ...(change.description !== undefined ? [sql.fragment`description = ${change.description}`] : []),
    ...(change.enabled === true
      ? [sql.fragment`enabled = true, disabled_at = NULL, disabled_reason = NULL, failing_since = NULL`]
      : []),
    ...(change.enabled === false
      ? [
          sql.fragment`enabled = false, disabled_at = COALESCE(disabled_at, now()),
            disabled_reason = COALESCE(disabled_reason, 'api')`,
        ]
      : []),
    ...(change.rotateSecret
      ? [
          sql.fragment`previous_secret = secret, secret_rotated_at = now(),
            secret = ${sealWebhookSecret(keyring, secretOwner(workspaceId, endpointId), newWebhookSecret())}`,
        ]
      : []),
  ];
  if (sets.length > 0) {
    await db.query(sql.unsafe`
      UPDATE webhook_endpoints SET ${sql.join(sets, sql.fragment`, `)}, updated_at = now()
      WHERE workspace_id = ${workspaceId} AND id = ${endpointId}
    `);
  }
  return findWebhookEndpoint(db, workspaceId, endpointId);
}

export async function deleteWebhookEndpoint(
  db: CommonQueryMethods,
  workspaceId: string,
  endpointId: string,
): Promise<boolean> {
  const result = await db.query(
    sql.unsafe`DELETE FROM webhook_endpoints WHERE workspace_id = ${workspaceId} AND id = ${endpointId}`,
  );
  return result.rowCount > 0;
}

/**
 * The single-URL settings: the workspace's webhook URL (no `accountId`) or an account's own. A URL sets the endpoint
 * that holds it (created on first use), null removes it.
 */
export async function setWebhookSetting(
  db: CommonQueryMethods,
  setting: { workspaceId: string; accountId: number | null; url: string | null },
): Promise<void> {
  const kind = setting.accountId === null ? 'workspace_webhook' : 'account_webhook';
  const owner =
    setting.accountId === null ? sql.fragment`account_id IS NULL` : sql.fragment`account_id = ${setting.accountId}`;
  if (setting.url === null) {
    await db.query(sql.unsafe`
      DELETE FROM webhook_endpoints WHERE workspace_id = ${setting.workspaceId} AND setting = ${kind} AND ${owner}
    `);
    return;
  }
  const updated = await db.query(sql.unsafe`
    UPDATE webhook_endpoints SET url = ${setting.url}, updated_at = now()
    WHERE workspace_id = ${setting.workspaceId} AND setting = ${kind} AND ${owner}
  `);
  if (updated.rowCount > 0) return;
  await db.query(sql.unsafe`
    INSERT INTO webhook_endpoints (id, workspace_id, account_id, setting, url)
    VALUES (${newEndpointId()}, ${setting.workspaceId}, ${setting.accountId}, ${kind}, ${setting.url})
    ON CONFLICT DO NOTHING
  `);
}

/** The URL of a single-URL setting: the workspace's (no `accountId`) or the account's own; null when unset. */
export async function webhookSettingUrl(
  db: CommonQueryMethods,
  workspaceId: string,
  accountId: number | null,
): Promise<string | null> {
  const owner = accountId === null ? sql.fragment`account_id IS NULL` : sql.fragment`account_id = ${accountId}`;
  return db.maybeOneFirst(sql.type(z.object({ url: z.string() }))`
    SELECT url FROM webhook_endpoints
    WHERE workspace_id = ${workspaceId} AND ${owner}
      AND setting = ${accountId === null ? 'workspace_webhook' : 'account_webhook'}
  `);
}

/**
 * The secrets an endpoint's deliveries are signed with: its own, or for the single-URL settings the workspace's; the
 * current one first, then the rotated-out one while its grace period lasts.
 */
export async function endpointSecrets(
  db: CommonQueryMethods,
  keyring: Keyring,
  endpoint: WebhookEndpointRow,
): Promise<WebhookSecrets | null> {
  if (endpoint.secret === null) return webhookSecrets(db, keyring, endpoint.workspace_id);
  const owner = secretOwner(endpoint.workspace_id, endpoint.id);
  const inGrace =
    endpoint.secret_rotated_at !== null && Date.now() - endpoint.secret_rotated_at < SECRET_ROTATION_GRACE_MS;
  return {
    current: openWebhookSecret(keyring, owner, endpoint.secret),
    previous:
      inGrace && endpoint.previous_secret !== null ? openWebhookSecret(keyring, owner, endpoint.previous_secret) : null,
  };
}

/** How long every attempt to an endpoint may fail before the service disables it (as the large providers do). */
export const DISABLE_AFTER_FAILING = '72 hours';

/**
 * Records how an attempt to an endpoint fared: a success ends its failing stretch; a failure starts one, or, when the
 * stretch has lasted `DISABLE_AFTER_FAILING`, disables the endpoint. Answers whether this attempt disabled it.
 */
export async function noteEndpointAttempt(
  db: CommonQueryMethods,
  endpointId: string,
  delivered: boolean,
): Promise<{ disabled: boolean; failingSince: number | null }> {
  if (delivered) {
    await db.query(sql.unsafe`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${endpointId}`);
    return { disabled: false, failingSince: null };
  }
  const row = await db.maybeOne(sql.type(z.object({ disabled: z.boolean(), failing_since: z.number() }))`
    UPDATE webhook_endpoints SET
      failing_since = COALESCE(failing_since, now()),
      enabled = enabled AND NOT COALESCE(failing_since < now() - ${DISABLE_AFTER_FAILING}::interval, false),
      disabled_at = CASE WHEN enabled AND failing_since < now() - ${DISABLE_AFTER_FAILING}::interval THEN now()
                         ELSE disabled_at END,
      disabled_reason = CASE WHEN enabled AND failing_since < now() - ${DISABLE_AFTER_FAILING}::interval THEN 'failing'
                             ELSE disabled_reason END
    WHERE id = ${endpointId}
    RETURNING (disabled_reason IS NOT DISTINCT FROM 'failing' AND disabled_at IS NOT DISTINCT FROM now()) AS disabled,
              failing_since
  `);
  return { disabled: row?.disabled ?? false, failingSince: row?.failing_since ?? null };
}

/** Counts for the metrics: endpoints the service disabled for failing. */
export async function endpointsDisabledForFailing(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(z.object({ count: z.number() }))`
    SELECT count(*)::int AS count FROM webhook_endpoints WHERE disabled_reason = 'failing'
  `);
}

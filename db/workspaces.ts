import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export const workspaceSchema = z.object({
  id: z.string(),
  /** Sealed (db/webhook-secrets.ts opens it); null until the first process that needs one issues it. */
  webhook_secret: z.string().nullable(),
  max_live_accounts: z.number().int().nullable(),
  /** What its accounts announce to the phone unless an account says otherwise (db/account-start-settings.ts). */
  device_name: z.string().nullable(),
  browser_name: z.string().nullable(),
  display_name: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type WorkspaceRow = z.infer<typeof workspaceSchema>;

/** The workspace, created on first use; its webhook secret is issued when first needed (db/webhook-secrets.ts). */
export async function ensureWorkspace(db: CommonQueryMethods, workspaceId: string): Promise<WorkspaceRow> {
  const created = await db.maybeOne(sql.type(workspaceSchema)`
    INSERT INTO workspaces (id) VALUES (${workspaceId})
    ON CONFLICT (id) DO NOTHING RETURNING *
  `);
  return created ?? db.one(sql.type(workspaceSchema)`SELECT * FROM workspaces WHERE id = ${workspaceId}`);
}

/** Sets the workspace's own limit of live accounts; null: the service's default. */
export async function setWorkspaceAccountLimit(
  db: CommonQueryMethods,
  workspaceId: string,
  maxLiveAccounts: number | null,
): Promise<WorkspaceRow> {
  await ensureWorkspace(db, workspaceId);
  return db.one(sql.type(workspaceSchema)`
    UPDATE workspaces SET max_live_accounts = ${maxLiveAccounts}, updated_at = now() WHERE id = ${workspaceId} RETURNING *
  `);
}

/** Sets (or, with null, clears) the device and browser names the workspace's accounts announce by default. */
export async function setWorkspaceDeviceNames(
  db: CommonQueryMethods,
  workspaceId: string,
  names: { deviceName: string | null; browserName: string | null },
): Promise<WorkspaceRow> {
  await ensureWorkspace(db, workspaceId);
  return db.one(sql.type(workspaceSchema)`
    UPDATE workspaces SET device_name = ${names.deviceName}, browser_name = ${names.browserName}, updated_at = now()
    WHERE id = ${workspaceId} RETURNING *
  `);
}

/** Issues a new signing secret for the workspace: the current one keeps signing beside it for the grace period. */
export async function rotateWorkspaceWebhookSecret(db: CommonQueryMethods, workspaceId: string): Promise<WorkspaceRow> {
  await ensureWorkspace(db, workspaceId);
  // The new secret is issued, sealed, by the first process that needs it (db/webhook-secrets.ts).
  return db.one(sql.type(workspaceSchema)`
    UPDATE workspaces SET previous_webhook_secret = COALESCE(webhook_secret, previous_webhook_secret),
      secret_rotated_at = now(), webhook_secret = NULL
    WHERE id = ${workspaceId} RETURNING *
  `);
}

const apiKeySchema = z.object({
  id: z.number().int(),
  key_prefix: z.string(),
  key_hash: z.string(),
  workspace_id: z.string().nullable(),
  name: z.string(),
  revoked_at: z.number().nullable(),
});

/** How a principal proved itself: what the audit log says of who acted. */
export type PrincipalKind = 'key' | 'operator_session' | 'legacy_keyless' | 'metrics_token';

export interface ApiPrincipal {
  keyId: number;
  kind: PrincipalKind;
  /** The key's public prefix (its name in logs and the audit); null without a key. */
  keyPrefix: string | null;
  /** null for an admin key. */
  workspaceId: string | null;
  name: string;
  /** When set, the only workspaces this principal may touch (the legacy session API's key-less access). */
  onlyWorkspaces?: ReadonlySet<string>;
  /**
   * What this principal may do beyond its workspace, granted by how it authenticated (the scrape token), never by a
   * key's name, which an admin chooses freely.
   */
  scopes?: readonly ApiScope[];
}

/** `metrics:read`: GET /metrics (the METRICS_TOKEN; admin keys read it as admins). */
export type ApiScope = 'metrics:read';

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** Creates a key and returns it in full: the only time it is ever shown. */
export async function createApiKey(
  db: CommonQueryMethods,
  options: { workspaceId: string | null; name: string },
): Promise<{ key: string; prefix: string }> {
  if (options.workspaceId) await ensureWorkspace(db, options.workspaceId);
  const prefix = `wak_${randomBytes(6).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  await db.query(sql.unsafe`
    INSERT INTO api_keys (key_prefix, key_hash, workspace_id, name) VALUES (${prefix}, ${hashKey(key)}, ${options.workspaceId}, ${options.name})
  `);
  return { key, prefix };
}

/** The prefix of a well-formed key (its first part, stored in clear), or null for anything else. */
export function keyPrefixOf(presented: string): string | null {
  return /^(wak_[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(presented)?.[1] ?? null;
}

/** The prefixes of the keys created after `afterId` (revoked ones too), oldest first. */
export async function keyPrefixesAfter(
  db: CommonQueryMethods,
  afterId: number,
): Promise<readonly { id: number; key_prefix: string }[]> {
  return db.any(sql.type(z.object({ id: z.number().int(), key_prefix: z.string() }))`
    SELECT id, key_prefix FROM api_keys WHERE id > ${afterId} ORDER BY id
  `);
}

/** The principal a presented key stands for, or null when it is unknown, malformed or revoked. */
export async function authenticateApiKey(db: CommonQueryMethods, presented: string): Promise<ApiPrincipal | null> {
  const prefix = keyPrefixOf(presented);
  if (!prefix) return null;
  const row = await db.maybeOne(
    sql.type(
      apiKeySchema,
    )`SELECT id, key_prefix, key_hash, workspace_id, name, revoked_at FROM api_keys WHERE key_prefix = ${prefix}`,
  );
  if (!row || row.revoked_at !== null) return null;
  const expected = Buffer.from(row.key_hash, 'hex');
  const actual = Buffer.from(hashKey(presented), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  return { keyId: row.id, kind: 'key', keyPrefix: row.key_prefix, workspaceId: row.workspace_id, name: row.name };
}

/** Revokes an active key; answers whose it was (workspaceId null: an admin key), or null when none was active. */
export async function revokeApiKey(
  db: CommonQueryMethods,
  prefix: string,
): Promise<{ workspaceId: string | null } | null> {
  const revoked = await db.maybeOne(sql.type(z.object({ workspace_id: z.string().nullable() }))`
    UPDATE api_keys SET revoked_at = now() WHERE key_prefix = ${prefix} AND revoked_at IS NULL RETURNING workspace_id
  `);
  return revoked ? { workspaceId: revoked.workspace_id } : null;
}

/** Sets (or, with null, clears) the name the workspace's onboarding links show their visitors. */
export async function setWorkspaceDisplayName(
  db: CommonQueryMethods,
  workspaceId: string,
  displayName: string | null,
): Promise<string | null> {
  await ensureWorkspace(db, workspaceId);
  return db.oneFirst(sql.type(z.object({ display_name: z.string().nullable() }))`
    UPDATE workspaces SET display_name = ${displayName}, updated_at = now() WHERE id = ${workspaceId}
    RETURNING display_name
  `);
}

/** The name the workspace's onboarding links show (null: none). */
export async function workspaceDisplayName(db: CommonQueryMethods, workspaceId: string): Promise<string | null> {
  const name = await db.maybeOneFirst(sql.type(z.object({ display_name: z.string().nullable() }))`
    SELECT display_name FROM workspaces WHERE id = ${workspaceId}
  `);
  return name ?? null;
}

import { proxyColumnsSchema } from './proxy-settings.js';
import { sql, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import { ACCOUNT_STATUSES } from '../domain/account-status.js';
import type { AccountWait } from '../domain/account-wait.js';
import { splitSessionKey } from '../domain/session-key.js';
import { lockWorkspace } from './workspace-lock.js';

const engineAttempt = { attempt: z.number(), maxAttempts: z.number(), reconnecting: z.boolean() };

/** The `wait` column as the workflow writes it (domain/account-wait.ts); a shape it no longer writes reads as none. */
const accountWaitSchema: z.ZodType<AccountWait | null, z.ZodTypeDef, unknown> = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('host'), since: z.number() }),
    z.object({
      kind: z.literal('engine_starting'),
      ...engineAttempt,
      since: z.number(),
      lastFailure: z.string().nullable(),
    }),
    z.object({ kind: z.literal('engine_retry'), ...engineAttempt, reason: z.string(), nextTryAt: z.number() }),
  ])
  .nullable()
  .catch(null);

export const accountRowSchema = z.object({
  id: z.number().int(),
  workspace_id: z.string(),
  session_id: z.string(),
  phone_number: z.string().nullable(),
  status: z.enum(ACCOUNT_STATUSES),
  is_primary: z.boolean(),
  push_name: z.string().nullable(),
  whatsapp_lid: z.string().nullable(),
  whatsapp_platform: z.string().nullable(),
  profile_picture_at: z.number().nullable(),
  last_qr: z.string().nullable(),
  last_qr_at: z.number().nullable(),
  pairing_code: z.string().nullable(),
  pairing_code_at: z.number().nullable(),
  failure_reason: z.string().nullable(),
  last_connected_at: z.number().nullable(),
  metadata: z.record(z.unknown()),
  created_at: z.number(),
  updated_at: z.number(),
  deleted_at: z.number().nullable(),
  wait: accountWaitSchema,
  status_changed_at: z.number(),
  last_seen_at: z.number().nullable(),
  web_version: z.string().nullable(),
  web_version_pin: z.string().nullable(),
  device_name: z.string().nullable(),
  browser_name: z.string().nullable(),
  // The account's own proxy (sql/0033); its credentials only sealed.
  ...proxyColumnsSchema.shape,
  engine_memory_bytes: z.number().nullable(),
});
export type AccountRow = z.infer<typeof accountRowSchema>;

export class AccountConflictError extends Error {
  override readonly name = 'AccountConflictError';
}

/**
 * How every change to an account begins: its workspace's lock first (the workspace of a row never changes, so it is
 * read before), then the row itself, locked for the rest of the transaction.
 */
export async function lockAccount(tx: DatabaseTransactionConnection, key: string): Promise<AccountRow> {
  const { workspaceId, sessionId } = splitSessionKey(key);
  const exists = await tx.exists(sql.unsafe`
    SELECT 1 FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
  `);
  if (!exists) throw new AccountConflictError(`no account with session key ${key}`);
  await lockWorkspace(tx, workspaceId);
  return tx.one(sql.type(accountRowSchema)`
    SELECT * FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId} FOR UPDATE
  `);
}

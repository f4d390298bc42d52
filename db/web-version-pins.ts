import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { splitSessionKey } from '../domain/session-key.js';

/** The WhatsApp Web build an account pins, or null (the service's pin, or the current build, applies). */
export async function accountWebVersionPin(db: CommonQueryMethods, key: string): Promise<string | null> {
  const { workspaceId, sessionId } = splitSessionKey(key);
  const pin = await db.maybeOneFirst(sql.type(z.object({ web_version_pin: z.string().nullable() }))`
    SELECT web_version_pin FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
  `);
  return pin ?? null;
}

/** Pins (or, with null, unpins) the build an account's client loads from its next start on. */
export async function setAccountWebVersionPin(
  db: CommonQueryMethods,
  accountId: number,
  pin: string | null,
): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE whatsapp_accounts SET web_version_pin = ${pin} WHERE id = ${accountId} AND deleted_at IS NULL
  `);
}

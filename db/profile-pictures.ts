import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** Profile pictures (sql/0031): written by the host that fetched one inside the session's page, read by the API. */

/**
 * Keeps (or, with null, forgets) the account's profile picture. Its session is up on the host that fetched it, so the
 * row may still be on its way to `connected` (the first look comes right after `ready`): any live account takes it.
 */
export async function recordProfilePicture(
  db: CommonQueryMethods,
  sessionKey: string,
  picture: { contentType: string; bytes: Buffer } | null,
): Promise<void> {
  const [workspaceId, sessionId] = sessionKey.split('.');
  const account = sql.fragment`
    SELECT id FROM whatsapp_accounts
    WHERE workspace_id = ${workspaceId ?? ''} AND session_id = ${sessionId ?? ''} AND deleted_at IS NULL
  `;
  if (picture === null) {
    await db.query(sql.unsafe`DELETE FROM account_profile_pictures WHERE account_id IN (${account})`);
    await db.query(sql.unsafe`UPDATE whatsapp_accounts SET profile_picture_at = NULL WHERE id IN (${account})`);
    return;
  }
  await db.query(sql.unsafe`
    INSERT INTO account_profile_pictures (account_id, content_type, bytes)
    SELECT id, ${picture.contentType}, ${sql.binary(picture.bytes)} FROM (${account}) a
    ON CONFLICT (account_id) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes, fetched_at = now()
  `);
  await db.query(sql.unsafe`UPDATE whatsapp_accounts SET profile_picture_at = now() WHERE id IN (${account})`);
}

const pictureSchema = z.object({ content_type: z.string(), bytes: z.instanceof(Buffer), fetched_at: z.number() });

/** The account's kept profile picture, or null. */
export async function findProfilePicture(
  db: CommonQueryMethods,
  accountId: number,
): Promise<z.infer<typeof pictureSchema> | null> {
  return db.maybeOne(sql.type(pictureSchema)`
    SELECT content_type, bytes, fetched_at FROM account_profile_pictures WHERE account_id = ${accountId}
  `);
}

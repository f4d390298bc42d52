import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** The WhatsApp Web build an account pins, or null (the service's pin, or the current build, applies). */
export async function accountWebVersionPin(db: CommonQueryMethods, sessionId: string): Promise<string | null> {
  const pin = await db.maybeOneFirst(sql.type(z.object({ web_version_pin: z.string().nullable() }))`
    SELECT web_version_pin FROM whatsapp_accounts WHERE session_id = ${sessionId}
  `);
  return pin ?? null;
}

/** Pins (or, with null, unpins) the build an account's client loads from its next start on. */
export async function setAccountWebVersionPin(
  db: CommonQueryMethods,
  sessionId: string,
  pin: string | null,
): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE whatsapp_accounts SET web_version_pin = ${pin} WHERE session_id = ${sessionId} AND deleted_at IS NULL
  `);
}

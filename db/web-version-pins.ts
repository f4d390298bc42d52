import { sql, type CommonQueryMethods } from 'slonik';

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

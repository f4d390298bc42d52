import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** Screenshots of session pages in transit (sql/0032): sealed for the one request that asked, read once. */

/** What a screenshot is sealed under: it opens only as the answer to this request about this session. */
export function screenshotSealContext(requestId: string, sessionKey: string): string {
  return `screenshot ${requestId} ${sessionKey}`;
}

/** A row nobody read within this long is purged. */
const UNREAD_KEPT = '2 minutes';

/** Keeps the sealed screenshot for its request, purging any left unread. */
export async function keepScreenshot(
  db: CommonQueryMethods,
  screenshot: { requestId: string; sessionKey: string; sealed: Buffer; contentType: string },
): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM session_screenshots WHERE taken_at < now() - ${UNREAD_KEPT}::interval`);
  await db.query(sql.unsafe`
    INSERT INTO session_screenshots (request_id, session_key, sealed, content_type)
    VALUES (${screenshot.requestId}, ${screenshot.sessionKey}, ${sql.binary(screenshot.sealed)}, ${screenshot.contentType})
    ON CONFLICT (request_id) DO UPDATE SET sealed = excluded.sealed, content_type = excluded.content_type
  `);
}

const takenSchema = z.object({ sealed: z.instanceof(Buffer), content_type: z.string() });

/** Takes the request's screenshot out of the table: the row is gone once read. Null when there is none. */
export async function takeScreenshot(
  db: CommonQueryMethods,
  requestId: string,
  sessionKey: string,
): Promise<z.infer<typeof takenSchema> | null> {
  return db.maybeOne(sql.type(takenSchema)`
    DELETE FROM session_screenshots WHERE request_id = ${requestId} AND session_key = ${sessionKey}
    RETURNING sealed, content_type
  `);
}

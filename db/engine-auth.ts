import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const authRowSchema = z.object({ data: z.instanceof(Buffer) });

/** Saved WhatsApp auth per session, in PostgreSQL so any worker host can restore a session without a scan. */
/** Saves the login; an identical one (same content hash) changes nothing, so frequent saves cost little. */
export async function saveEngineAuth(
  db: CommonQueryMethods,
  sessionId: string,
  engine: 'real' | 'simulated',
  data: Buffer,
  contentSha256: string | null = null,
): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO engine_auth (session_id, engine, data, content_sha256) VALUES (${sessionId}, ${engine}, ${sql.binary(data)}, ${contentSha256})
    ON CONFLICT (session_id) DO UPDATE SET engine = EXCLUDED.engine, data = EXCLUDED.data, content_sha256 = EXCLUDED.content_sha256,
      updated_at = now(), saved_count = engine_auth.saved_count + 1
    WHERE engine_auth.content_sha256 IS DISTINCT FROM EXCLUDED.content_sha256 OR EXCLUDED.content_sha256 IS NULL
  `);
}

export async function loadEngineAuth(db: CommonQueryMethods, sessionId: string): Promise<Buffer | null> {
  const row = await db.maybeOne(sql.type(authRowSchema)`SELECT data FROM engine_auth WHERE session_id = ${sessionId}`);
  return row?.data ?? null;
}

export async function deleteEngineAuth(db: CommonQueryMethods, sessionId: string): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM engine_auth WHERE session_id = ${sessionId}`);
}

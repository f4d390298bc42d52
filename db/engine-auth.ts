import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

const authRowSchema = z.object({ data: z.instanceof(Buffer) });

/** Saved WhatsApp auth per session, in PostgreSQL so any worker host can restore a session without a scan. */
export async function saveEngineAuth(db: CommonQueryMethods, sessionId: string, engine: 'real' | 'simulated', data: Buffer): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO engine_auth (session_id, engine, data) VALUES (${sessionId}, ${engine}, ${sql.binary(data)})
    ON CONFLICT (session_id) DO UPDATE SET engine = EXCLUDED.engine, data = EXCLUDED.data, updated_at = now()
  `);
}

export async function loadEngineAuth(db: CommonQueryMethods, sessionId: string): Promise<Buffer | null> {
  const row = await db.maybeOne(sql.type(authRowSchema)`SELECT data FROM engine_auth WHERE session_id = ${sessionId}`);
  return row?.data ?? null;
}

export async function deleteEngineAuth(db: CommonQueryMethods, sessionId: string): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM engine_auth WHERE session_id = ${sessionId}`);
}

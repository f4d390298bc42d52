import { createHash, randomBytes } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { ApiPrincipal } from './workspaces.js';

/** What operator_sessions keeps of a token: its SHA-256, in hex. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Opens a session for an admin key; the token is returned once and only its hash is kept. */
export async function openOperatorSession(
  db: CommonQueryMethods,
  apiKeyId: number,
  lifetimeMs: number,
): Promise<{ token: string; expiresAt: number }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = await db.oneFirst(sql.type(z.object({ expires_at: z.number() }))`
    INSERT INTO operator_sessions (token_hash, api_key_id, expires_at)
    VALUES (${hashToken(token)}, ${apiKeyId}, now() + make_interval(secs => ${lifetimeMs / 1000}))
    RETURNING expires_at
  `);
  // Ended and expired sessions are not worth a job of their own: each login clears them.
  await db.query(sql.unsafe`DELETE FROM operator_sessions WHERE expires_at < now()`);
  return { token, expiresAt };
}

const sessionPrincipalSchema = z.object({ id: z.number().int(), name: z.string(), key_prefix: z.string() });

/** The admin principal a session token stands for: null when unknown, expired, or its key was revoked. */
export async function operatorSessionPrincipal(db: CommonQueryMethods, token: string): Promise<ApiPrincipal | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const row = await db.maybeOne(sql.type(sessionPrincipalSchema)`
    SELECT k.id, k.name, k.key_prefix
      FROM operator_sessions s JOIN api_keys k ON k.id = s.api_key_id
     WHERE s.token_hash = ${hashToken(token)} AND s.expires_at > now()
       AND k.revoked_at IS NULL AND k.workspace_id IS NULL
  `);
  return row
    ? { keyId: row.id, kind: 'operator_session', keyPrefix: row.key_prefix, workspaceId: null, name: row.name }
    : null;
}

/** The hashes of every session not yet expired (a handful: one per operator's browser). */
export async function liveOperatorSessionHashes(db: CommonQueryMethods): Promise<readonly string[]> {
  return db.anyFirst(sql.type(z.object({ token_hash: z.string() }))`
    SELECT token_hash FROM operator_sessions WHERE expires_at > now()
  `);
}

export async function endOperatorSession(db: CommonQueryMethods, token: string): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM operator_sessions WHERE token_hash = ${hashToken(token)}`);
}

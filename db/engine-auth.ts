import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { Keyring } from '../lib/keyring.js';
import { openLogin, sealLogin } from '../lib/sealed-login.js';

const sealedRowSchema = z.object({
  data: z.instanceof(Buffer),
  key_id: z.string().nullable(),
  wrapped_key: z.instanceof(Buffer).nullable(),
});

/**
 * Saved WhatsApp logins, one per session, in PostgreSQL so any worker host can restore a session without a scan;
 * sealed with the keyring's saved-logins key (lib/sealed-login.ts), so the table holds ciphertext only.
 */
/** Who may write for a session: the host holding its lease, under the lease's epoch. */
export interface LeaseFence {
  host: string;
  epoch: number;
}

/** A write for a session made under a lease that has passed to another epoch: refused, nothing written. */
export class StaleLeaseError extends Error {
  override readonly name = 'StaleLeaseError';
  constructor(sessionId: string, fence: LeaseFence) {
    super(`session ${sessionId}: ${fence.host} no longer holds its lease (epoch ${fence.epoch}); the write is refused`);
  }
}

export class EngineAuthStore {
  constructor(
    private readonly db: DatabasePool,
    private readonly keyring: Keyring,
  ) {}

  /**
   * Saves the login; an identical one (same content hash) changes nothing, so frequent saves cost little. With a
   * fence, the save is made only while that host still holds the session's lease under that epoch (the lease row is
   * locked for the save): a host that lost the session, paused past its lease, cannot overwrite the new owner's login.
   */
  async save(
    sessionId: string,
    engine: 'real' | 'simulated',
    login: Buffer,
    contentSha256: string | null = null,
    fence: LeaseFence | null = null,
  ) {
    const sealed = sealLogin(this.keyring, sessionId, login);
    await this.db.transaction(async (tx) => {
      if (fence) {
        const held = await tx.exists(sql.unsafe`
          SELECT 1 FROM session_leases
          WHERE session_id = ${sessionId} AND host = ${fence.host} AND epoch = ${fence.epoch} AND expires_at > now()
          FOR SHARE
        `);
        if (!held) throw new StaleLeaseError(sessionId, fence);
      }
      await tx.query(sql.unsafe`
      INSERT INTO engine_auth (session_id, engine, data, key_id, wrapped_key, content_sha256)
      VALUES (${sessionId}, ${engine}, ${sql.binary(sealed.data)}, ${sealed.keyId}, ${sql.binary(sealed.wrappedKey)}, ${contentSha256})
      ON CONFLICT (session_id) DO UPDATE SET engine = EXCLUDED.engine, data = EXCLUDED.data, key_id = EXCLUDED.key_id,
        wrapped_key = EXCLUDED.wrapped_key, content_sha256 = EXCLUDED.content_sha256,
        updated_at = now(), saved_count = engine_auth.saved_count + 1
      WHERE engine_auth.content_sha256 IS DISTINCT FROM EXCLUDED.content_sha256 OR EXCLUDED.content_sha256 IS NULL
    `);
    });
  }

  async load(sessionId: string): Promise<Buffer | null> {
    const row = await this.db.maybeOne(sql.type(sealedRowSchema)`
      SELECT data, key_id, wrapped_key FROM engine_auth WHERE session_id = ${sessionId}
    `);
    if (!row) return null;
    if (row.key_id === null || row.wrapped_key === null) {
      throw new Error(`the saved login of ${sessionId} is not sealed: run npm run keys -- reencrypt-logins`);
    }
    return openLogin(this.keyring, sessionId, { keyId: row.key_id, wrappedKey: row.wrapped_key, data: row.data });
  }

  /**
   * Whether a login is saved, and the hash of its content (null when it was saved without one): what a host compares
   * with the login its own profile was last saved as or restored from, without loading it.
   */
  async savedDigest(sessionId: string): Promise<{ contentSha256: string | null } | null> {
    const row = await this.db.maybeOne(sql.type(z.object({ content_sha256: z.string().nullable() }))`
      SELECT content_sha256 FROM engine_auth WHERE session_id = ${sessionId}
    `);
    return row === null ? null : { contentSha256: row.content_sha256 };
  }

  async remove(sessionId: string): Promise<void> {
    await deleteEngineAuth(this.db, sessionId);
  }

  /**
   * Seals every saved login that is not under the active key (or not sealed at all, as rows from before sealing
   * existed are) with the active key; answers how many it moved and which it could not open. Safe to run while workers save: a row saved anew
   * meanwhile is already sealed with the active key.
   */
  async reencryptAll(): Promise<{ moved: number; unreadable: string[] }> {
    const stale = await this.db.any(sql.type(z.object({ session_id: z.string() }).merge(sealedRowSchema))`
      SELECT session_id, data, key_id, wrapped_key FROM engine_auth
      WHERE key_id IS DISTINCT FROM ${this.keyring.activeKeyId}
    `);
    let moved = 0;
    const unreadable: string[] = [];
    for (const row of stale) {
      let login: Buffer;
      try {
        login =
          row.key_id === null || row.wrapped_key === null
            ? row.data
            : openLogin(this.keyring, row.session_id, {
                keyId: row.key_id,
                wrappedKey: row.wrapped_key,
                data: row.data,
              });
      } catch {
        // A key no longer in the keyring, or a row that was tampered with: reported, and the others still move.
        unreadable.push(row.session_id);
        continue;
      }
      const sealed = sealLogin(this.keyring, row.session_id, login);
      const updated = await this.db.query(sql.unsafe`
        UPDATE engine_auth SET data = ${sql.binary(sealed.data)}, key_id = ${sealed.keyId}, wrapped_key = ${sql.binary(sealed.wrappedKey)}
        WHERE session_id = ${row.session_id} AND data = ${sql.binary(row.data)}
      `);
      moved += updated.rowCount;
    }
    return { moved, unreadable };
  }
}

/** Removes a session's saved login; needs no key, so any process may. */
export async function deleteEngineAuth(db: CommonQueryMethods, sessionId: string): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM engine_auth WHERE session_id = ${sessionId}`);
}

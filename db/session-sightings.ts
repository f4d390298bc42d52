import { sql, type CommonQueryMethods } from 'slonik';
import { recordProfilePicture } from './profile-pictures.js';

/** What one look at a session found alive: the row's `last_seen_at`, `web_version` and `engine_memory_bytes`. */
export interface SessionSighting {
  sessionId: string;
  webVersion: string | null;
  memoryBytes: number | null;
  /** Fetched once per start: the picture, null for none; left out when this look did not fetch it. */
  profilePicture?: { contentType: string; bytes: Buffer } | null;
}

/**
 * One round of a host's checks, in one statement: each session found alive was seen now, runs this build and holds
 * this much memory. A row that is no longer connected (it moved on meanwhile) is left as it is.
 */
export async function recordSightings(db: CommonQueryMethods, sightings: SessionSighting[]): Promise<void> {
  if (sightings.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE whatsapp_accounts AS a
    SET last_seen_at = now(),
        web_version = COALESCE(s.web_version, a.web_version),
        engine_memory_bytes = s.memory_bytes
    FROM unnest(
      ${sql.array(
        sightings.map((s) => s.sessionId),
        'text',
      )},
      ${sql.array(
        sightings.map((s) => s.webVersion),
        'text',
      )},
      ${sql.array(
        sightings.map((s) => s.memoryBytes),
        'int8',
      )}
    ) AS s(session_id, web_version, memory_bytes)
        -- Hosts name sessions by their key, workspace_id.session_id (workflows/ids.ts).
    WHERE a.workspace_id = split_part(s.session_id, '.', 1) AND a.session_id = split_part(s.session_id, '.', 2)
      AND a.status = 'connected' AND a.deleted_at IS NULL
  `);
  for (const sighting of sightings) {
    if (sighting.profilePicture !== undefined)
      await recordProfilePicture(db, sighting.sessionId, sighting.profilePicture);
  }
}

import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { ACCOUNT_ROW_ENDED } from './accounts.js';
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
 * this much memory, and its start, if a running web-build canary waits on it, worked. A row that is no longer
 * connected (it moved on meanwhile) is left as it is. Answers the sessions found alive whose accounts have ended: a
 * client nobody stopped (its workflow was terminated before the account was deleted), which only the host that runs
 * it can stop. A live workflow's ending stops its client too: whichever stop comes second finds nothing left to stop.
 */
export async function recordSightings(
  db: CommonQueryMethods,
  /** The host that looked: its own clients' starts are the ones its sightings can say worked. */
  host: string,
  sightings: SessionSighting[],
): Promise<string[]> {
  if (sightings.length === 0) return [];
  const ended = await db.anyFirst(sql.type(z.object({ session_id: z.string() }))`
    WITH s AS (
      SELECT * FROM unnest(
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
    ), seen AS (
      UPDATE whatsapp_accounts AS a
      SET last_seen_at = now(),
          web_version = COALESCE(s.web_version, a.web_version),
          engine_memory_bytes = s.memory_bytes
      FROM s
          -- Hosts name sessions by their key, workspace_id.session_id (workflows/ids.ts).
      WHERE a.workspace_id = split_part(s.session_id, '.', 1) AND a.session_id = split_part(s.session_id, '.', 2)
        AND a.status = 'connected' AND a.deleted_at IS NULL
      RETURNING a.id, s.session_id
    ), worked AS (
      -- A connected session seen alive by the client this host started for its account's newest start: a running
      -- canary's wait for that start is over. A move back to connected writes no activation
      -- (workflows/account-turn.ts), so this is where it is recorded. The client must be this host's, started after
      -- the start was recorded: an older client elsewhere, still seen while it stops, says nothing of the new start.
      UPDATE web_build_canary_starts AS c
      SET ready_at = now()
      FROM seen
      WHERE c.account_id = seen.id AND c.ready_at IS NULL
        AND c.id = (SELECT max(n.id) FROM web_build_canary_starts AS n WHERE n.account_id = seen.id)
        AND EXISTS (SELECT 1 FROM web_build_canaries AS k WHERE k.id = c.canary_id AND k.state = 'running')
        AND EXISTS (
          SELECT 1 FROM session_clients AS sc
          WHERE sc.session_id = seen.session_id AND sc.host = ${host} AND sc.ended_at IS NULL
            AND sc.started_at >= c.started_at
        )
    )
    SELECT s.session_id FROM s JOIN whatsapp_accounts a
      ON a.workspace_id = split_part(s.session_id, '.', 1) AND a.session_id = split_part(s.session_id, '.', 2)
    WHERE ${ACCOUNT_ROW_ENDED}
  `);
  for (const sighting of sightings) {
    if (sighting.profilePicture !== undefined)
      await recordProfilePicture(db, sighting.sessionId, sighting.profilePicture);
  }
  return [...ended];
}

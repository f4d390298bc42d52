/**
 * What a fleet of hosts did with its sessions, read from the rows the hosts and the workflows write: the client audit
 * (session_clients), the leases and the account events. The fault suite and the fleet benchmark judge a run by these.
 */
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** QR events of a workspace: a new one after every account connected means someone had to scan again. */
export async function qrEventCount(db: CommonQueryMethods, workspaceId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM account_events WHERE workspace_id = ${workspaceId} AND type = 'qr'
  `);
}

/**
 * Pairs of clients of one session (session ids starting with `sessionPrefix`; the audit rows hold session keys,
 * workspace_id.session_id) where the older one still ran under a valid
 * lease after the newer one started: two owners at once. The audit rows are written by the hosts (sql/0015); a host
 * killed outright writes no end, so its clients end when it died (`killed`).
 */
export async function overlappingOwners(
  db: CommonQueryMethods,
  sessionPrefix: string,
  killed: { host: string; at: number } | null = null,
) {
  const killedHost = killed?.host ?? '';
  const killedAt = (killed?.at ?? 0) / 1000;
  const overlap = z.object({
    session_id: z.string(),
    earlier: z.number(),
    later: z.number(),
    earlier_host: z.string(),
    later_host: z.string(),
  });
  return db.any(sql.type(overlap)`
    SELECT a.session_id, a.epoch AS earlier, b.epoch AS later, a.host AS earlier_host, b.host AS later_host
    FROM session_clients a JOIN session_clients b ON a.session_id = b.session_id AND a.epoch < b.epoch
    WHERE split_part(a.session_id, '.', 2) LIKE ${`${sessionPrefix}%`}
      AND LEAST(
        COALESCE(a.ended_at, CASE WHEN a.host = ${killedHost} THEN to_timestamp(${killedAt}) END, 'infinity'),
        COALESCE(a.valid_until, 'infinity')
      ) > b.started_at
  `);
}

/** Hosts that ran clients of the sessions (ids starting with `sessionPrefix`). */
export async function ownerHosts(db: CommonQueryMethods, sessionPrefix: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(DISTINCT host)::int8 AS n FROM session_clients WHERE split_part(session_id, '.', 2) LIKE ${`${sessionPrefix}%`}
  `);
}

/**
 * From the status events since `sinceMs`: how many accounts left `connected`, and the longest time one stayed away
 * from it (until its next `connected`, or until now when it has not come back).
 */
export async function timeAwayFromConnected(
  db: CommonQueryMethods,
  workspaceId: string,
  sinceMs: number,
): Promise<{ accountsAway: number; longestMs: number; stillAway: number; longestSessionId: string | null }> {
  const events = await db.any(sql.type(
    z.object({ session_id: z.string(), status: z.string(), occurred_at: z.number() }),
  )`
    SELECT session_id, status, occurred_at FROM account_events
    WHERE workspace_id = ${workspaceId} AND status IS NOT NULL AND occurred_at >= to_timestamp(${sinceMs / 1000})
    ORDER BY session_id, id
  `);
  const awaySince = new Map<string, number>();
  const away = new Set<string>();
  let longestMs = 0;
  let longestSessionId: string | null = null;
  const awayFor = (sessionId: string, ms: number) => {
    if (ms <= longestMs) return;
    longestMs = ms;
    longestSessionId = sessionId;
  };
  for (const event of events) {
    const since = awaySince.get(event.session_id);
    if (event.status === 'connected') {
      if (since !== undefined) awayFor(event.session_id, event.occurred_at - since);
      awaySince.delete(event.session_id);
    } else if (since === undefined) {
      awaySince.set(event.session_id, event.occurred_at);
      away.add(event.session_id);
    }
  }
  for (const [sessionId, since] of awaySince) awayFor(sessionId, Date.now() - since);
  return { accountsAway: away.size, longestMs, stillAway: awaySince.size, longestSessionId };
}

/** One account's events since `sinceMs`, as `+<ms> <type>[ <reason>]`: what the slowest session went through. */
export async function eventTimeline(db: CommonQueryMethods, sessionId: string, sinceMs: number): Promise<string[]> {
  const events = await db.any(sql.type(
    z.object({ type: z.string(), occurred_at: z.number(), reason: z.string().nullable() }),
  )`
    SELECT type, occurred_at, COALESCE(data->>'reason', data->>'host') AS reason FROM account_events
    WHERE session_id = ${sessionId} AND occurred_at >= to_timestamp(${sinceMs / 1000})
    ORDER BY id
  `);
  return events.map(
    (event) => `+${event.occurred_at - sinceMs} ${event.type}${event.reason ? ` ${event.reason}` : ''}`,
  );
}

/** Accounts of the workspace in `failed`. */
export async function failedCount(db: CommonQueryMethods, workspaceId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM whatsapp_accounts
    WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL AND status = 'failed'
  `);
}

/**
 * Clients running now of the sessions starting with `sessionPrefix`, per host: not ended, under the session's current
 * lease (a killed host never ends its clients; they stop counting when its leases run out).
 */
export async function openClientsByHost(db: CommonQueryMethods, sessionPrefix: string): Promise<Map<string, number>> {
  const rows = await db.any(sql.type(z.object({ host: z.string(), n: z.number() }))`
    SELECT c.host, count(*)::int8 AS n FROM session_clients c
    JOIN session_leases l ON l.session_id = c.session_id AND l.host = c.host AND l.epoch = c.epoch
    WHERE split_part(c.session_id, '.', 2) LIKE ${`${sessionPrefix}%`} AND c.ended_at IS NULL AND l.expires_at > now()
    GROUP BY c.host
  `);
  return new Map(rows.map((row) => [row.host, row.n]));
}

/** Every account connected and exactly one running client per session: a move between hosts is over. */
export async function settled(
  db: CommonQueryMethods,
  workspaceId: string,
  sessionPrefix: string,
  sessions: number,
): Promise<boolean> {
  const connected = await db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM whatsapp_accounts
    WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL AND status = 'connected'
  `);
  const running = [...(await openClientsByHost(db, sessionPrefix)).values()].reduce((a, b) => a + b, 0);
  return connected === sessions && running === sessions;
}

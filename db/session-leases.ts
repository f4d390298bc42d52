import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** A host's claim on one session: the epoch its writes carry, and until when (the database's clock) it holds. */
export interface Lease {
  epoch: number;
  expiresAt: number;
}

const leaseSchema = z.object({ epoch: z.number().int(), expires_at: z.number() });

/** Which client of which account a lease is for: the account's first workflow run, and its count of starts. */
export interface LeasedClient {
  accountRun: string;
  generation: number;
}

/**
 * Takes the session's lease for this host, for this client of the account (null: none named): free, expired, or
 * already this host's. Taking it raises the epoch (a new owner, or a new client on the same host). What was asked of
 * the holder before is cleared, unless it was asked of this very client (a stop written while it waited for the
 * lease): the holder's next renewal then stops it. Null when another host holds it and it has not expired.
 */
export async function acquireLease(
  db: CommonQueryMethods,
  sessionId: string,
  host: string,
  ttlMs: number,
  client: LeasedClient | null = null,
): Promise<Lease | null> {
  const accountRun = client?.accountRun ?? null;
  const generation = client?.generation ?? null;
  const row = await db.maybeOne(sql.type(leaseSchema)`
    INSERT INTO session_leases (session_id, host, epoch, expires_at, account_run, generation)
    VALUES (${sessionId}, ${host}, 1, now() + make_interval(secs => ${ttlMs / 1000}), ${accountRun}, ${generation})
    ON CONFLICT (session_id) DO UPDATE
      SET host = EXCLUDED.host, epoch = session_leases.epoch + 1, expires_at = EXCLUDED.expires_at,
          released = false, reported_gone_at = NULL, account_run = EXCLUDED.account_run,
          generation = EXCLUDED.generation,
          stop_through_generation = CASE WHEN ${stopStillAsked} THEN session_leases.stop_through_generation END,
          stop_logout = ${stopStillAsked} AND session_leases.stop_logout,
          stop_forget_login = ${stopStillAsked} AND session_leases.stop_forget_login
      WHERE session_leases.host = EXCLUDED.host OR session_leases.expires_at < now()
    RETURNING epoch, expires_at
  `);
  return row ? { epoch: row.epoch, expiresAt: row.expires_at } : null;
}

/** In acquireLease's update: the stop on the row was asked of the client taking the lease. */
const stopStillAsked = sql.fragment`COALESCE(
  session_leases.account_run = EXCLUDED.account_run
    AND session_leases.stop_through_generation >= EXCLUDED.generation, false)`;

/** How the holder of a session's lease is asked to stop its client (sql/0038, sql/0039). */
export interface StopRequest {
  /** The account whose client is to stop (its first workflow run): a client of another account never is. */
  accountRun: string;
  /** The holder stops only a client of this generation or an older one. */
  throughGeneration: number;
  logout: boolean;
  forgetLogin: boolean;
  /**
   * Also the client of another run of this session, whatever its generation: asked by the account's live run, whose
   * workflow was started again after an operator terminated the one before (that run's client stops nowhere else).
   */
  otherRuns?: boolean;
}

/**
 * Asks the host holding the session's lease to stop its client, when that client is the account's and runs
 * `throughGeneration` or an older one; the holder reads it with its next renewal. Written on a lapsed or released
 * lease too: a start of that generation still waiting for the lease finds it once it takes the lease. Requests add up
 * (a logout asked once stays asked) until a newer client takes the lease. Answers the host asked while its lease is
 * live, or null.
 */
export async function askHolderToStop(
  db: CommonQueryMethods,
  sessionId: string,
  request: StopRequest,
): Promise<string | null> {
  const asked = await db.maybeOne(sql.type(z.object({ live_host: z.string().nullable() }))`
    UPDATE session_leases
    SET stop_through_generation = GREATEST(
          COALESCE(stop_through_generation, 0),
          CASE WHEN account_run = ${request.accountRun} THEN ${request.throughGeneration} ELSE generation END),
        stop_logout = stop_logout OR ${request.logout},
        stop_forget_login = stop_forget_login OR ${request.forgetLogin}
    WHERE session_id = ${sessionId}
      AND (account_run = ${request.accountRun} AND generation <= ${request.throughGeneration}
        OR ${request.otherRuns ?? false} AND account_run IS DISTINCT FROM ${request.accountRun})
    RETURNING CASE WHEN NOT released AND expires_at > now() THEN host END AS live_host
  `);
  return asked?.live_host ?? null;
}

/** When the lease another host holds runs out (null: nobody holds it). */
export async function leaseExpiry(db: CommonQueryMethods, sessionId: string): Promise<number | null> {
  return db.maybeOneFirst(sql.type(z.object({ expires_at: z.number() }))`
    SELECT expires_at FROM session_leases WHERE session_id = ${sessionId}
  `);
}

/**
 * The host queue of the host whose live lease runs the session now; null when none does. Through sql/0036's function,
 * which the API may call without reading the leases.
 */
export async function sessionHost(db: CommonQueryMethods, sessionId: string): Promise<string | null> {
  return db.oneFirst(sql.type(z.object({ host: z.string().nullable() }))`SELECT session_host(${sessionId}) AS host`);
}

/** Which of these sessions another host now runs, under a live lease: a drained host's hand-overs that have landed. */
export async function leasedElsewhere(
  db: CommonQueryMethods,
  host: string,
  sessionIds: readonly string[],
): Promise<Set<string>> {
  if (sessionIds.length === 0) return new Set();
  const rows = await db.anyFirst(sql.type(z.object({ session_id: z.string() }))`
    SELECT session_id FROM session_leases
    WHERE session_id = ANY(${sql.array([...sessionIds], 'text')}) AND host <> ${host} AND expires_at > now()
      AND NOT released
  `);
  return new Set(rows);
}

const renewedSchema = z.object({
  session_id: z.string(),
  expires_at: z.number(),
  stop_asked: z.boolean(),
  stop_logout: z.boolean(),
  stop_forget_login: z.boolean(),
});

/**
 * Renews every lease this host holds for these sessions under these epochs, in one statement; answers the sessions
 * it still holds, the new expiry, and the clients it is asked to stop (askHolderToStop). A session missing from the
 * answer was taken over.
 */
export async function renewLeases(
  db: CommonQueryMethods,
  host: string,
  held: ReadonlyMap<string, number>,
  ttlMs: number,
): Promise<{
  stillHeld: Set<string>;
  expiresAt: number | null;
  stopAsked: Map<string, { logout: boolean; forgetLogin: boolean }>;
}> {
  if (held.size === 0) return { stillHeld: new Set(), expiresAt: null, stopAsked: new Map() };
  const rows = await db.any(sql.type(renewedSchema)`
    UPDATE session_leases l SET expires_at = now() + make_interval(secs => ${ttlMs / 1000})
    FROM unnest(${sql.array([...held.keys()], 'text')}::text[], ${sql.array([...held.values()], 'int8')}::int8[])
      AS h(session_id, epoch)
    WHERE l.session_id = h.session_id AND l.epoch = h.epoch AND l.host = ${host} AND l.expires_at > now()
    RETURNING l.session_id, l.expires_at, COALESCE(l.stop_through_generation >= l.generation, false) AS stop_asked,
      l.stop_logout, l.stop_forget_login
  `);
  const stopAsked = new Map(
    rows
      .filter((row) => row.stop_asked)
      .map((row) => [row.session_id, { logout: row.stop_logout, forgetLogin: row.stop_forget_login }]),
  );
  return { stillHeld: new Set(rows.map((row) => row.session_id)), expiresAt: rows[0]?.expires_at ?? null, stopAsked };
}

/** One round trip to the lease store: a host holding no lease still learns whether it could take one. */
export async function leaseStoreAnswers(db: CommonQueryMethods): Promise<void> {
  await db.query(sql.unsafe`SELECT 1`);
}

/**
 * Gives the lease up (the client stopped here), unless it has passed to another epoch meanwhile. The row stays,
 * expired, so the next owner's epoch is higher still: epochs of a session only ever grow.
 */
export async function releaseLease(db: CommonQueryMethods, sessionId: string, host: string, epoch: number) {
  await db.query(sql.unsafe`
    UPDATE session_leases SET expires_at = now(), released = true
    WHERE session_id = ${sessionId} AND host = ${host} AND epoch = ${epoch}
  `);
}

/**
 * Leases that lapsed without being given up, at most `limit` (oldest first): their hosts stopped renewing them. Each is
 * claimed for reporting by exactly one caller (several live hosts look at once).
 */
export async function claimLapsedLeases(
  db: CommonQueryMethods,
  limit: number,
): Promise<readonly { session_id: string; host: string; epoch: number }[]> {
  return db.any(sql.type(z.object({ session_id: z.string(), host: z.string(), epoch: z.number() }))`
    UPDATE session_leases SET reported_gone_at = now()
    WHERE session_id IN (
      SELECT session_id FROM session_leases
      WHERE NOT released AND reported_gone_at IS NULL AND expires_at < now()
      ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    RETURNING session_id, host, epoch
  `);
}

/** A lapse that could not be reported (Temporal unreachable): the next look claims it again. */
export async function unclaimLapsedLease(db: CommonQueryMethods, sessionId: string, epoch: number): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE session_leases SET reported_gone_at = NULL WHERE session_id = ${sessionId} AND epoch = ${epoch}
  `);
}

/** The audit: a client started under this epoch. */
export async function recordClientStart(db: CommonQueryMethods, sessionId: string, host: string, epoch: number) {
  await db.query(sql.unsafe`
    INSERT INTO session_clients (session_id, host, epoch) VALUES (${sessionId}, ${host}, ${epoch})
  `);
}

/**
 * The audit: the client of this epoch stopped at `stopped` and its lease was known valid until `validUntil`. Its end
 * bears the time it stopped, not the time the database took the write: a write made late (queued while the database
 * was away, or retried once it answers again) must not make a client seem to outlive the next one. The time is the
 * earlier of the host's wall clock at the stop and the database's clock less the host's monotonic time since.
 */
export async function recordClientEnd(
  db: CommonQueryMethods,
  sessionId: string,
  host: string,
  epoch: number,
  validUntil: number | null,
  stopped: { wallMs: number; agoMs: number } = { wallMs: Date.now(), agoMs: 0 },
) {
  await db.query(sql.unsafe`
    UPDATE session_clients
    SET ended_at = LEAST(now() - make_interval(secs => ${stopped.agoMs / 1000}), to_timestamp(${stopped.wallMs / 1000})),
        valid_until = ${validUntil === null ? null : sql.timestamp(new Date(validUntil))}
    WHERE session_id = ${sessionId} AND host = ${host} AND epoch = ${epoch} AND ended_at IS NULL
  `);
}

import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** What a host says of itself (workers/host-report.ts). */
export interface HostReport {
  taskQueue: string;
  hostname: string;
  pid: number;
  engine: 'real' | 'simulated';
  seats: number;
  startsPerSecond: number;
  processMemoryBytes: number;
  draining: boolean;
  leasesRenewedAt: Date | null;
}

export async function reportHost(db: CommonQueryMethods, report: HostReport): Promise<void> {
  const renewedAt = report.leasesRenewedAt ? report.leasesRenewedAt.toISOString() : null;
  await db.query(sql.unsafe`
    INSERT INTO hosts (task_queue, hostname, pid, engine, seats, starts_per_second, process_memory_bytes, draining,
                       leases_renewed_at)
    VALUES (${report.taskQueue}, ${report.hostname}, ${report.pid}, ${report.engine}, ${report.seats},
            ${report.startsPerSecond}, ${report.processMemoryBytes}, ${report.draining}, ${renewedAt})
    ON CONFLICT (task_queue) DO UPDATE SET
      seats = EXCLUDED.seats, starts_per_second = EXCLUDED.starts_per_second,
      process_memory_bytes = EXCLUDED.process_memory_bytes, draining = EXCLUDED.draining,
      leases_renewed_at = EXCLUDED.leases_renewed_at, reported_at = now(), stopped_at = NULL
  `);
}

/** Rows of hosts that have not reported for `days`: every boot is a host of its own, so they would pile up. */
export async function forgetHostsGoneFor(db: CommonQueryMethods, days: number): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM hosts WHERE reported_at < now() - make_interval(days => ${days})`);
}

/** A host that stopped on its own says so; one that died just stops reporting. */
export async function reportHostStopped(db: CommonQueryMethods, taskQueue: string): Promise<void> {
  await db.query(sql.unsafe`UPDATE hosts SET stopped_at = now(), reported_at = now() WHERE task_queue = ${taskQueue}`);
}

const hostRowSchema = z.object({
  task_queue: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  engine: z.enum(['real', 'simulated']),
  seats: z.number().int(),
  starts_per_second: z.number(),
  process_memory_bytes: z.coerce.number(),
  draining: z.boolean(),
  leases_renewed_at: z.number().nullable(),
  started_at: z.number(),
  reported_at: z.number(),
  stopped_at: z.number().nullable(),
  sessions: z.coerce.number().int(),
  sessions_memory_bytes: z.coerce.number().nullable(),
  builds: z.array(z.object({ version: z.string().nullable(), sessions: z.number().int() })),
});
export type HostRow = z.infer<typeof hostRowSchema>;

/**
 * Every host seen within `withinSeconds` (running, draining, stopped or silent), with the sessions it holds a live
 * lease for, what their browsers hold in memory and the WhatsApp Web builds they run.
 */
export async function listHosts(db: CommonQueryMethods, withinSeconds: number): Promise<readonly HostRow[]> {
  return db.any(sql.type(hostRowSchema)`
    SELECT h.*,
      COALESCE(held.sessions, 0) AS sessions,
      held.memory AS sessions_memory_bytes,
      COALESCE(held.builds, '[]'::json) AS builds
    FROM hosts h
    LEFT JOIN LATERAL (
      SELECT count(*) AS sessions, sum(a.engine_memory_bytes) AS memory,
        (SELECT json_agg(json_build_object('version', b.version, 'sessions', b.sessions) ORDER BY b.sessions DESC)
           FROM (SELECT a2.web_version AS version, count(*)::int AS sessions
                   FROM session_leases l2
                   LEFT JOIN whatsapp_accounts a2 ON (a2.workspace_id, a2.session_id) =
                        (split_part(l2.session_id, '.', 1), split_part(l2.session_id, '.', 2))
                  WHERE l2.host = h.task_queue AND l2.expires_at > now()
                  GROUP BY a2.web_version) b) AS builds
      FROM session_leases l
      -- A lease names its account by session key (domain/session-key.ts): the pair the unique index finds.
      LEFT JOIN whatsapp_accounts a ON (a.workspace_id, a.session_id) =
                (split_part(l.session_id, '.', 1), split_part(l.session_id, '.', 2))
      WHERE l.host = h.task_queue AND l.expires_at > now()
    ) held ON true
    WHERE h.reported_at > now() - make_interval(secs => ${withinSeconds})
    ORDER BY h.started_at, h.task_queue
  `);
}

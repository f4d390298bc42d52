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
  /** The build each held session last ran (null: not seen yet), one entry per session. */
  session_builds: z.array(z.string().nullable()),
});

export type HostRow = Omit<z.infer<typeof hostRowSchema>, 'session_builds'> & {
  builds: { version: string | null; sessions: number }[];
};

/**
 * Every host seen within `withinSeconds` (running, draining, stopped or silent), with the sessions it holds a live
 * lease for, what their browsers hold in memory and the WhatsApp Web builds they run (host_session_sums, sql/0028:
 * the API reads these sums, never the leases).
 */
export async function listHosts(db: CommonQueryMethods, withinSeconds: number): Promise<HostRow[]> {
  const rows = await db.any(sql.type(hostRowSchema)`
    SELECT h.*,
      COALESCE(held.sessions, 0) AS sessions,
      held.memory_bytes AS sessions_memory_bytes,
      COALESCE(held.builds, '[]'::json) AS session_builds
    FROM hosts h
    LEFT JOIN host_session_sums() held ON held.host = h.task_queue
    WHERE h.reported_at > now() - make_interval(secs => ${withinSeconds})
    ORDER BY h.started_at, h.task_queue
  `);
  return rows.map(({ session_builds, ...row }) => ({ ...row, builds: countBuilds(session_builds) }));
}

/** Sessions per build, the most run first. */
function countBuilds(versions: readonly (string | null)[]): { version: string | null; sessions: number }[] {
  const counts = new Map<string | null, number>();
  for (const version of versions) counts.set(version, (counts.get(version) ?? 0) + 1);
  return [...counts].map(([version, sessions]) => ({ version, sessions })).sort((a, b) => b.sessions - a.sessions);
}

import { createHash } from 'node:crypto';
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { ArmFigures } from '../domain/web-build-canary-rule.js';
import { appendAuditEntry, type AuditEntry } from './audit-log.js';

/** Canary WhatsApp Web builds (sql/0035): the canary, each start of either arm, and the build a promotion made current. */

export const CANARY_STATES = ['running', 'promoted', 'rolled_back', 'stopped'] as const;

export const canarySchema = z.object({
  id: z.coerce.number().int(),
  task_queue: z.string(),
  candidate: z.string(),
  share_percent: z.number(),
  workspaces: z.array(z.string()),
  min_starts: z.number(),
  ready_within_seconds: z.number(),
  created_by: z.string().nullable(),
  started_at: z.number(),
  state: z.enum(CANARY_STATES),
  decided_at: z.number().nullable(),
  decision_reason: z.string().nullable(),
  decision_figures: z.record(z.unknown()).nullable(),
  /** After a rollback: the accounts it restarts on the current build (sql/0041). */
  restart_session_keys: z.array(z.string()),
});
export type CanaryRow = z.infer<typeof canarySchema>;

export class CanaryAlreadyRunning extends Error {
  override readonly name = 'CanaryAlreadyRunning';
}

export async function startCanary(
  db: CommonQueryMethods,
  canary: {
    /** The fleet: the workers of this task queue. */
    taskQueue: string;
    candidate: string;
    sharePercent: number;
    workspaces: readonly string[];
    minStarts: number;
    readyWithinSeconds: number;
    createdBy: string | null;
  },
): Promise<CanaryRow> {
  const row = await db.maybeOne(sql.type(canarySchema)`
    INSERT INTO web_build_canaries (task_queue, candidate, share_percent, workspaces, min_starts, ready_within_seconds,
                                    created_by)
    VALUES (${canary.taskQueue}, ${canary.candidate}, ${canary.sharePercent}, ${sql.array([...canary.workspaces], 'text')},
            ${canary.minStarts}, ${canary.readyWithinSeconds}, ${canary.createdBy})
    ON CONFLICT (task_queue) WHERE state = 'running' DO NOTHING
    RETURNING *
  `);
  if (!row) throw new CanaryAlreadyRunning('a canary is already running: stop it, or wait for its decision');
  return row;
}

export async function findCanary(db: CommonQueryMethods, id: number): Promise<CanaryRow | null> {
  return db.maybeOne(sql.type(canarySchema)`SELECT * FROM web_build_canaries WHERE id = ${id}`);
}

export async function listCanaries(db: CommonQueryMethods, taskQueue: string): Promise<readonly CanaryRow[]> {
  return db.any(sql.type(canarySchema)`
    SELECT * FROM web_build_canaries WHERE task_queue = ${taskQueue} ORDER BY id DESC LIMIT 100
  `);
}

/** The build a promotion made current, or null (WA_WEB_VERSION, else the library's default, applies). */
export async function promotedWebBuild(db: CommonQueryMethods, taskQueue: string): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ web_version: z.string() }))`
    SELECT web_version FROM web_build_current WHERE task_queue = ${taskQueue}
  `);
}

/** Whether an account is in the canary: its workspace is named, or its place in the share falls under it. */
export function inCanary(
  canary: Pick<CanaryRow, 'id' | 'share_percent' | 'workspaces'>,
  workspaceId: string,
  sessionId: string,
): boolean {
  if (canary.workspaces.includes(workspaceId)) return true;
  // The same account falls on the same side at every start of this canary, and on an unrelated side in the next.
  const place = createHash('sha256')
    .update(`${canary.id}\u0000${workspaceId}\u0000${sessionId}`)
    .digest()
    .readUInt32BE(0);
  return place % 100 < canary.share_percent;
}

/**
 * The build a start of an unpinned account loads: the candidate when it is in a running canary, else the promoted
 * build (null: the service's own). While a canary runs, the start is recorded on its arm, so the two arms are compared
 * over the same period. A code shown or the account's activation records that it worked, and so does its host's first
 * look at the session once it is connected again (db/session-sightings.ts): a move back writes no activation.
 */
export async function webBuildForStart(
  db: CommonQueryMethods,
  account: { id: number; workspaceId: string; sessionId: string },
  taskQueue: string,
): Promise<string | null> {
  // One round trip on every start: the fleet's promoted build beside its running canary, if any.
  const fleet = await db.one(sql.type(
    z.object({
      promoted: z.string().nullable(),
      canary: canarySchema
        .pick({ id: true, candidate: true, share_percent: true, workspaces: true, ready_within_seconds: true })
        .nullable(),
    }),
  )`
    SELECT (SELECT web_version FROM web_build_current WHERE task_queue = ${taskQueue}) AS promoted,
           (SELECT json_build_object('id', id, 'candidate', candidate, 'share_percent', share_percent,
                                     'workspaces', workspaces, 'ready_within_seconds', ready_within_seconds)
            FROM web_build_canaries WHERE state = 'running' AND task_queue = ${taskQueue}) AS canary
  `);
  const { promoted, canary } = fleet;
  if (!canary) return promoted;
  const candidate = inCanary(canary, account.workspaceId, account.sessionId);
  const version = candidate ? canary.candidate : promoted;
  // A start before this one that never worked is settled as it is: only the newest start of an account waits. The
  // start's activity may run twice (a retry): a start still within its time is that same start.
  await db.query(sql.unsafe`
    INSERT INTO web_build_canary_starts (canary_id, account_id, arm, web_version)
    SELECT ${canary.id}, ${account.id}, ${candidate ? 'candidate' : 'current'}, ${version}
    WHERE NOT EXISTS (
      SELECT 1 FROM web_build_canary_starts
      WHERE canary_id = ${canary.id} AND account_id = ${account.id} AND ready_at IS NULL
        AND started_at > now() - ${`${canary.ready_within_seconds} seconds`}::interval
    )
  `);
  return version;
}

/** The account's page worked (a QR shown, or connected): its waiting canary start, if any, is a success. */
export async function markCanaryStartWorking(db: CommonQueryMethods, accountId: number): Promise<void> {
  // The newest start only: an earlier one that never worked stays a failure.
  await db.query(sql.unsafe`
    UPDATE web_build_canary_starts SET ready_at = now()
    WHERE id = (SELECT max(id) FROM web_build_canary_starts WHERE account_id = ${accountId}) AND ready_at IS NULL
  `);
}

const figuresSchema = z.object({
  arm: z.enum(['candidate', 'current']),
  starts: z.coerce.number(),
  failures: z.coerce.number(),
  p50_ms: z.number().nullable(),
  p95_ms: z.number().nullable(),
});

/** Each arm's settled starts so far: worked, or not within the canary's time (a failure). */
export async function canaryFigures(
  db: CommonQueryMethods,
  canary: CanaryRow,
): Promise<{ candidate: ArmFigures; current: ArmFigures }> {
  const within = `${canary.ready_within_seconds} seconds`;
  const rows = await db.any(sql.type(figuresSchema)`
    SELECT arm,
           count(*) AS starts,
           count(*) FILTER (WHERE ready_at IS NULL OR ready_at > started_at + ${within}::interval) AS failures,
           (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ready_at - started_at) * 1000)
              FILTER (WHERE ready_at <= started_at + ${within}::interval))::float8 AS p50_ms,
           (percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ready_at - started_at) * 1000)
              FILTER (WHERE ready_at <= started_at + ${within}::interval))::float8 AS p95_ms
    FROM web_build_canary_starts
    WHERE canary_id = ${canary.id} AND (ready_at IS NOT NULL OR started_at <= now() - ${within}::interval)
    GROUP BY arm
  `);
  const arm = (name: 'candidate' | 'current'): ArmFigures => {
    const row = rows.find((found) => found.arm === name);
    return {
      starts: row?.starts ?? 0,
      failures: row?.failures ?? 0,
      p50Ms: row?.p50_ms ?? null,
      p95Ms: row?.p95_ms ?? null,
    };
  };
  return { candidate: arm('candidate'), current: arm('current') };
}

/**
 * Records the decision and its audit entry together; a promotion makes the candidate the current build. A rollback
 * keeps the session keys of the accounts whose newest start on the candidate never worked: they start again, on the
 * current build, and a judge retried after this commit finds them on the canary.
 */
export async function decideCanary(
  pool: DatabasePool,
  canary: CanaryRow,
  decision: { state: 'promoted' | 'rolled_back' | 'stopped'; reason: string; figures: Record<string, unknown> },
  /** The decision's own audit entry, when no request's entry records it (the judge's). */
  auditOf?: (restartSessionKeys: readonly string[]) => AuditEntry,
): Promise<{ applied: boolean; restartSessionKeys: readonly string[] }> {
  return pool.transaction(async (tx) => {
    const updated = await tx.maybeOne(sql.type(canarySchema)`
      UPDATE web_build_canaries
      SET state = ${decision.state}, decided_at = now(), decision_reason = ${decision.reason},
          decision_figures = ${sql.jsonb(decision.figures as never)}
      WHERE id = ${canary.id} AND state = 'running'
      RETURNING *
    `);
    if (!updated) return { applied: false, restartSessionKeys: [] };
    if (decision.state === 'promoted') {
      await tx.query(sql.unsafe`
        INSERT INTO web_build_current (task_queue, web_version, canary_id)
        VALUES (${canary.task_queue}, ${canary.candidate}, ${canary.id})
        ON CONFLICT (task_queue) DO UPDATE SET web_version = excluded.web_version, canary_id = excluded.canary_id,
          since = now()
      `);
    }
    const restartSessionKeys =
      decision.state === 'rolled_back'
        ? await tx.oneFirst(sql.type(z.object({ keys: z.array(z.string()) }))`
            UPDATE web_build_canaries SET restart_session_keys = ARRAY(
              SELECT DISTINCT a.workspace_id || '.' || a.session_id
              FROM web_build_canary_starts s JOIN whatsapp_accounts a ON a.id = s.account_id
              WHERE s.canary_id = ${canary.id} AND s.arm = 'candidate' AND s.ready_at IS NULL
                AND a.deleted_at IS NULL AND a.status <> 'failed'
                AND s.id = (SELECT max(id) FROM web_build_canary_starts newest WHERE newest.account_id = s.account_id)
              ORDER BY 1)
            WHERE id = ${canary.id}
            RETURNING restart_session_keys AS keys
          `)
        : [];
    if (auditOf) await appendAuditEntry(tx, auditOf(restartSessionKeys));
    return { applied: true, restartSessionKeys };
  });
}

/** Decisions so far, by state (wa_web_build_canary_decisions_total). */
export async function canaryDecisionCounts(db: CommonQueryMethods): Promise<Record<string, number>> {
  const rows = await db.any(sql.type(z.object({ state: z.string(), n: z.coerce.number() }))`
    SELECT state, count(*) AS n FROM web_build_canaries GROUP BY state
  `);
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

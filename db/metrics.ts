import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { UPKEEP_RESTART_REASONS } from '../domain/upkeep-restart-reasons.js';

export interface HistogramData {
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sum: number;
}

const bucketRow = z.object({ le: z.number(), count: z.number() });
const totalsRow = z.object({ count: z.number(), sum: z.number() });

/** A histogram of one timing the workflow stored in its events (e.g. session_ready's scanToConnectedMs). */
export async function eventTimingHistogram(
  db: CommonQueryMethods,
  types: string[],
  field: string,
  bucketsMs: number[],
): Promise<HistogramData> {
  const samples = sql.fragment`
    SELECT (data ->> ${field})::float8 AS v FROM account_events
    WHERE type = ANY(${sql.array(types, 'text')}) AND data ? ${field}
  `;
  return histogram(db, samples, bucketsMs);
}

export async function webhookLatencyHistogram(db: CommonQueryMethods, bucketsMs: number[]): Promise<HistogramData> {
  return histogram(
    db,
    sql.fragment`SELECT latency_ms::float8 AS v FROM webhook_deliveries WHERE latency_ms IS NOT NULL`,
    bucketsMs,
  );
}

async function histogram(
  db: CommonQueryMethods,
  samples: ReturnType<typeof sql.fragment>,
  bucketsMs: number[],
): Promise<HistogramData> {
  const buckets = await db.any(sql.type(bucketRow)`
    WITH samples AS (${samples})
    SELECT b.le, (SELECT count(*) FROM samples s WHERE s.v <= b.le)::int8 AS count
    FROM unnest(${sql.array(bucketsMs, 'float8')}) AS b(le) ORDER BY b.le
  `);
  const totals = await db.one(sql.type(totalsRow)`
    WITH samples AS (${samples}) SELECT count(*)::int8 AS count, COALESCE(sum(v), 0)::float8 AS sum FROM samples
  `);
  return { buckets: [...buckets], count: totals.count, sum: totals.sum };
}

/** Status transitions by event type and resulting status, all time. */
export async function transitionCounts(
  db: CommonQueryMethods,
): Promise<ReadonlyArray<{ type: string; status: string | null; count: number }>> {
  return db.any(sql.type(z.object({ type: z.string(), status: z.string().nullable(), count: z.number() }))`
    SELECT type, status, count(*)::int8 AS count FROM account_events
    WHERE type NOT IN ('qr', 'pairing_code') GROUP BY type, status ORDER BY type, status
  `);
}

export async function deliveryCounts(
  db: CommonQueryMethods,
): Promise<ReadonlyArray<{ delivered: boolean; count: number }>> {
  return db.any(sql.type(z.object({ delivered: z.boolean(), count: z.number() }))`
    SELECT delivered, count(*)::int8 AS count FROM webhook_deliveries WHERE attempt > 0 GROUP BY delivered ORDER BY delivered
  `);
}

/** Live accounts by status, and what the ones that wait are waiting for (a seat on a host, a start, a retry). */
export async function accountGauges(db: CommonQueryMethods): Promise<{
  byStatus: ReadonlyArray<{ status: string; count: number }>;
  waiting: ReadonlyArray<{ kind: string; count: number }>;
}> {
  const byStatus = await db.any(sql.type(z.object({ status: z.string(), count: z.number() }))`
    SELECT status, count(*)::int8 AS count FROM whatsapp_accounts WHERE deleted_at IS NULL
    GROUP BY status ORDER BY status
  `);
  const waiting = await db.any(sql.type(z.object({ kind: z.string(), count: z.number() }))`
    SELECT wait->>'kind' AS kind, count(*)::int8 AS count FROM whatsapp_accounts
    WHERE deleted_at IS NULL AND wait IS NOT NULL GROUP BY 1 ORDER BY 1
  `);
  return { byStatus, waiting };
}

/** Sessions their own host restarted, all time: `unresponsive` (missed its checks) or `memory` (outgrew its limit). */
export async function hostRestartCounts(
  db: CommonQueryMethods,
): Promise<ReadonlyArray<{ why: 'unresponsive' | 'memory'; count: number }>> {
  const unresponsive = `transient:${UPKEEP_RESTART_REASONS.unresponsive}%`;
  const memory = `transient:${UPKEEP_RESTART_REASONS.memory}%`;
  return db.any(sql.type(z.object({ why: z.enum(['unresponsive', 'memory']), count: z.number() }))`
    SELECT CASE WHEN data->>'reason' LIKE ${memory} THEN 'memory' ELSE 'unresponsive' END AS why, count(*)::int8 AS count
    FROM account_events
    WHERE type = 'disconnected' AND (data->>'reason' LIKE ${unresponsive} OR data->>'reason' LIKE ${memory})
    GROUP BY 1 ORDER BY 1
  `);
}

/** Session starts an account's proxy failed (engine_retry_scheduled events), by why (engine/proxy-dialer.ts). */
export async function proxyFailureCounts(
  db: CommonQueryMethods,
): Promise<ReadonlyArray<{ reason: string; count: number }>> {
  return db.any(sql.type(z.object({ reason: z.string(), count: z.number() }))`
    SELECT substring(data->>'reason' FROM '^(proxy_[a-z_]+)') AS reason, count(*)::int8 AS count
    FROM account_events
    WHERE type = 'engine_retry_scheduled' AND data->>'reason' LIKE 'proxy\_%'
    GROUP BY 1 ORDER BY 1
  `);
}

/**
 * Connected sessions by the WhatsApp Web build they run, and how many run another build than the one expected of
 * them: their account's pin, else the service's, else the build most sessions run.
 */
export async function webVersionGauges(
  db: CommonQueryMethods,
  servicePin: string | null,
): Promise<{ byVersion: ReadonlyArray<{ version: string; count: number }>; offExpected: number }> {
  const running = sql.fragment`
    SELECT web_version, web_version_pin FROM whatsapp_accounts
    WHERE status = 'connected' AND deleted_at IS NULL AND web_version IS NOT NULL
  `;
  const byVersion = await db.any(sql.type(z.object({ version: z.string(), count: z.number() }))`
    WITH running AS (${running})
    SELECT web_version AS version, count(*)::int8 AS count FROM running GROUP BY 1 ORDER BY 1
  `);
  const offExpected = await db.oneFirst(sql.type(z.object({ count: z.number() }))`
    WITH running AS (${running}),
    majority AS (SELECT web_version FROM running GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
    SELECT count(*)::int8 AS count FROM running
    WHERE web_version <> COALESCE(web_version_pin, ${servicePin}::text, (SELECT web_version FROM majority))
  `);
  return { byVersion, offExpected };
}

import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

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
    SELECT delivered, count(*)::int8 AS count FROM webhook_deliveries GROUP BY delivered ORDER BY delivered
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

import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { accountEventSchema, type AccountEvent } from './account-events.js';

/** Event types that carry a login code: an escalation bundle leaves the rest of the log as it is, these out. */
const LOGIN_CODE_EVENTS = ['qr', 'pairing_code'];

/** Account events of the last `minutes` (of one workspace, or all), login codes left out, newest first. */
export async function recentFleetEvents(
  db: CommonQueryMethods,
  query: { minutes: number; workspaceId: string | null; limit: number },
): Promise<readonly AccountEvent[]> {
  return db.any(sql.type(accountEventSchema)`
    SELECT * FROM account_events
    WHERE occurred_at > now() - make_interval(mins => ${query.minutes})
      AND type <> ALL(${sql.array(LOGIN_CODE_EVENTS, 'text')})
      AND (${query.workspaceId}::text IS NULL OR workspace_id = ${query.workspaceId})
    ORDER BY id DESC
    LIMIT ${query.limit}
  `);
}

/** PostgreSQL's own version and the newest migration applied. */
export async function databaseFacts(db: CommonQueryMethods): Promise<{ version: string; schemaVersion: number }> {
  return db.one(sql.type(z.object({ version: z.string(), schemaVersion: z.number().int() }))`
    SELECT version() AS version, (SELECT COALESCE(max(version), 0) FROM schema_migrations) AS "schemaVersion"
  `);
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { activateAccount } from '../../db/account-lifecycle.js';
import { insertAccount } from '../../db/accounts.js';
import { recordClientStart } from '../../db/session-leases.js';
import { recordSightings } from '../../db/session-sightings.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { sessionKey } from '../../domain/session-key.js';
import { randomPhone } from '../helpers/accounts.js';
import { openPool, uniqueId } from '../helpers/context.js';

describe("a host's session check: a running canary's start worked when this host's client of it is seen connected", () => {
  let pool: DatabasePool;
  before(async () => {
    pool = await openPool();
  });
  after(async () => {
    await pool?.end();
  });

  /** A connected account: its activation already marked whatever start came before it. */
  const connectedAccount = async (workspaceId: string) => {
    const sessionId = uniqueId('seen');
    await insertAccount(pool, { workspaceId, sessionId });
    const key = sessionKey(workspaceId, sessionId);
    const { row } = await activateAccount(pool, {
      sessionId: key,
      phoneNumber: randomPhone(),
      pushName: null,
      dedupeKey: uniqueId('activate'),
    });
    return { key, id: row.id };
  };
  /** A canary of a fleet of its own: no other test's start is recorded on it. */
  const canary = (state: 'running' | 'stopped') =>
    pool.oneFirst(sql.type(z.object({ id: z.number() }))`
      INSERT INTO web_build_canaries (task_queue, candidate, share_percent, min_starts, ready_within_seconds, state,
                                      decided_at)
      VALUES (${uniqueId('tq-canary')}, '2.3000.1', 0, 1, 60, ${state},
              ${state === 'running' ? sql.fragment`NULL` : sql.fragment`now()`})
      RETURNING id
    `);
  const startOn = (canaryId: number, accountId: number) =>
    pool.oneFirst(sql.type(z.object({ id: z.number() }))`
      INSERT INTO web_build_canary_starts (canary_id, account_id, arm, web_version)
      VALUES (${canaryId}, ${accountId}, 'current', NULL) RETURNING id
    `);
  const readyAt = (startId: number) =>
    pool.oneFirst(sql.type(z.object({ ready_at: z.number().nullable() }))`
      SELECT ready_at FROM web_build_canary_starts WHERE id = ${startId}
    `);

  it("marks the newest start of a running canary through the client this host started for it, and nothing else: not an older start, not a decided canary's, not one seen through an older client or another host's", async () => {
    const workspaceId = uniqueId('ws-sightings');
    await ensureWorkspace(pool, workspaceId);
    const host = uniqueId('host-a');
    const running = await canary('running');
    const decided = await canary('stopped');
    try {
      // Moved here quietly: two starts recorded (an earlier that never worked), then this host's client.
      const moved = await connectedAccount(workspaceId);
      const earlier = await startOn(running, moved.id);
      const newest = await startOn(running, moved.id);
      await recordClientStart(pool, moved.key, host, 1);
      // This host's client is older than the start: the start is a new client's elsewhere, this one about to stop.
      const leaving = await connectedAccount(workspaceId);
      await recordClientStart(pool, leaving.key, host, 1);
      const leavingStart = await startOn(running, leaving.id);
      // The start's client runs on another host.
      const elsewhere = await connectedAccount(workspaceId);
      const elsewhereStart = await startOn(running, elsewhere.id);
      await recordClientStart(pool, elsewhere.key, uniqueId('host-b'), 1);
      // A decided canary's start.
      const decidedOne = await connectedAccount(workspaceId);
      const decidedStart = await startOn(decided, decidedOne.id);
      await recordClientStart(pool, decidedOne.key, host, 1);

      const seen = [moved, leaving, elsewhere, decidedOne];
      await recordSightings(
        pool,
        host,
        seen.map((account) => ({ sessionId: account.key, webVersion: null, memoryBytes: null })),
      );
      assert.notEqual(await readyAt(newest), null, 'the newest start worked');
      assert.equal(await readyAt(earlier), null, 'an earlier start that never worked stays a failure');
      assert.equal(await readyAt(leavingStart), null, 'an older client says nothing of a newer start');
      assert.equal(await readyAt(elsewhereStart), null, "another host's client is that host's to see");
      assert.equal(await readyAt(decidedStart), null, 'a decided canary is not judged again');
    } finally {
      await pool.query(
        sql.unsafe`UPDATE web_build_canaries SET state = 'stopped', decided_at = now() WHERE id = ${running}`,
      );
    }
  });
});

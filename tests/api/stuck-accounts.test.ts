import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { insertAccount } from '../../db/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { openPool, openTemporalClient, uniqueId } from '../helpers/context.js';

interface StuckList {
  items: { account: { sessionId: string; status: string; detail: string }; stuckForSeconds: number }[];
}

describe('stuck accounts: which accounts stay too long in a status, and on what', () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let api: TestApi;
  const workspace = uniqueId('ws-stuck');
  const otherWorkspace = uniqueId('ws-other');
  const ids = {
    waitingForRetry: uniqueId('retrying'),
    justCreated: uniqueId('fresh'),
    loggedOut: uniqueId('logged-out'),
    elsewhere: uniqueId('elsewhere'),
    connectedUnseen: uniqueId('unseen'),
    connectedSeen: uniqueId('seen'),
  };

  /** An account whose status changed `minutesAgo`, as if its workflow had written it then. */
  const account = async (
    workspaceId: string,
    sessionId: string,
    minutesAgo: number,
    set = sql.fragment`status = status`,
  ) => {
    await insertAccount(pool, { workspaceId, sessionId });
    await pool.query(sql.unsafe`UPDATE whatsapp_accounts SET ${set} WHERE session_id = ${sessionId}`);
    await pool.query(sql.unsafe`
      UPDATE whatsapp_accounts SET status_changed_at = now() - make_interval(mins => ${minutesAgo})
      WHERE session_id = ${sessionId}
    `);
  };

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    api = await buildTestApi(pool, client, { taskQueue: uniqueId('tq-idle'), simulator: false });
    const wait = {
      kind: 'engine_retry',
      attempt: 4,
      maxAttempts: 13,
      reconnecting: false,
      reason: 'whatsapp_unreachable',
      nextTryAt: Date.now() + 30_000,
    };
    await account(workspace, ids.waitingForRetry, 20, sql.fragment`wait = ${sql.jsonb(wait)}`);
    await account(workspace, ids.justCreated, 1);
    await account(
      workspace,
      ids.loggedOut,
      60,
      sql.fragment`status = 'disconnected', failure_reason = 'logged_out_from_phone'`,
    );
    await account(otherWorkspace, ids.elsewhere, 30);
    // Connected for an hour; one last seen alive 25 minutes ago, the other 2 minutes ago.
    for (const [sessionId, seenMinutesAgo] of [
      [ids.connectedUnseen, 25],
      [ids.connectedSeen, 2],
    ] as const) {
      await account(
        workspace,
        sessionId,
        60,
        sql.fragment`status = 'connected', phone_number = ${`62811${Date.now() % 1e7}${seenMinutesAgo}`}`,
      );
      await pool.query(sql.unsafe`
        UPDATE whatsapp_accounts SET last_seen_at = now() - make_interval(mins => ${seenMinutesAgo})
        WHERE session_id = ${sessionId}
      `);
    }
  });
  after(async () => {
    await api?.app.close();
    await closeClient?.();
    await pool?.end();
  });

  it('a workspace key lists its own accounts past their expected time, with what each waits for; not fresh ones, not ended ones', async () => {
    const key = await api.keyFor(workspace);
    const answer = await api.as(key, { url: `/v1/workspaces/${workspace}/stuck-accounts` });
    assert.equal(answer.statusCode, 200, answer.body);
    const { items } = answer.json<StuckList>();
    assert.deepEqual(
      items.map((item) => item.account.sessionId),
      [ids.connectedUnseen, ids.waitingForRetry],
    );
    assert.match(
      items[1]?.account.detail ?? '',
      /^starting WhatsApp Web, attempt 4 of 13, next in \d+ s: WhatsApp Web unreachable$/,
    );
    assert.ok((items[1]?.stuckForSeconds ?? 0) >= 20 * 60 - 5);
    assert.equal(items[0]?.account.detail, 'connected, but not seen alive for 25 min: its host may be gone');
    assert.ok((items[0]?.stuckForSeconds ?? 0) >= 25 * 60 - 5, 'stuck since it was last seen, not since it connected');
    assert.ok((items[0]?.stuckForSeconds ?? 0) < 60 * 60 - 5);
    const sooner = await api.as(key, { url: `/v1/workspaces/${workspace}/stuck-accounts?olderThanSeconds=30` });
    assert.deepEqual(
      sooner.json<StuckList>().items.map((item) => item.account.sessionId),
      [ids.connectedUnseen, ids.waitingForRetry, ids.connectedSeen, ids.justCreated],
    );
  });

  it("an operator sees every workspace's; another workspace's key sees none of them", async () => {
    const all = await api.as(api.adminKey, { url: '/v1/admin/stuck-accounts?limit=500' });
    assert.equal(all.statusCode, 200, all.body);
    const listed = all.json<StuckList>().items.map((item) => item.account.sessionId);
    assert.ok(listed.includes(ids.waitingForRetry) && listed.includes(ids.elsewhere));
    const otherKey = await api.keyFor(otherWorkspace);
    assert.equal((await api.as(otherKey, { url: `/v1/workspaces/${workspace}/stuck-accounts` })).statusCode, 404);
    assert.equal((await api.as(otherKey, { url: '/v1/admin/stuck-accounts' })).statusCode, 404);
    const bad = await api.as(api.adminKey, { url: '/v1/admin/stuck-accounts?olderThanSeconds=-1' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ code: string }>().code, 'validation_failed');
  });
});

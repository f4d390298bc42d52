import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { insertAccount, recordStatusChange } from '../../db/accounts.js';
import { migrate } from '../../db/migrate.js';
import { createDatabasePool } from '../../db/pool.js';
import type { WebhookRoute } from '../../db/webhook-deliveries.js';
import { dispatchQueuedEvents } from '../../db/webhook-outbox.js';
import { sessionKey } from '../../domain/session-key.js';
import { eventually, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { setWorkspaceWebhook } from '../helpers/webhook-secrets.js';

describe('the outbox claims: one dispatcher per event, a failed start stays queued for the next round', () => {
  // A database of its own: the other test files' workers dispatch whatever the shared one queues.
  const database = `outbox_${Date.now()}`;
  let admin: pg.Client;
  let pool: DatabasePool;
  let dispatcherUrl: string;
  before(async () => {
    admin = new pg.Client({ connectionString: testStackEnv().databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(testStackEnv().databaseUrl);
    url.pathname = `/${database}`;
    await migrate(url.toString(), testLog);
    dispatcherUrl = url.toString();
    pool = await createDatabasePool(url.toString(), { maximumPoolSize: 4 });
  });
  after(async () => {
    await pool?.end();
    await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin?.end();
  });

  const queued = (ids: readonly number[]) =>
    pool.anyFirst(sql.type(z.object({ event_id: z.number() }))`
      SELECT event_id FROM webhook_outbox WHERE event_id = ANY(${sql.array([...ids], 'int8')}) ORDER BY event_id
    `);

  it('events a round holds are skipped by another; those whose start failed stay queued, the rest leave', async () => {
    const workspaceId = uniqueId('ws-claims');
    // Never posted to: nothing dispatches in this database but the test's own rounds.
    await setWorkspaceWebhook(pool, workspaceId, 'http://127.0.0.1:9/hooks');
    const sessionId = uniqueId('claims');
    await insertAccount(pool, { workspaceId, sessionId });
    const eventIds: number[] = [];
    for (const [index, status] of (['authenticated', 'connected', 'disconnected'] as const).entries()) {
      const change = {
        sessionId: sessionKey(workspaceId, sessionId),
        status,
        eventType: status === 'connected' ? ('session_ready' as const) : status,
      };
      eventIds.push(...(await recordStatusChange(pool, { ...change, dedupeKey: `${sessionId}:${index}` })).eventIds);
    }
    const [first, second, third] = eventIds;
    assert.ok(first && second && third);

    const ours = (routes: readonly WebhookRoute[]) => routes.filter((route) => eventIds.includes(route.event_id));
    const seenByOther: number[] = [];
    await dispatchQueuedEvents(pool, 10_000, 'tq-any', async (heldRoutes) => {
      // While the first round holds its claims, a second round sees none of them.
      await dispatchQueuedEvents(pool, 10_000, 'tq-any', async (otherRoutes) => {
        seenByOther.push(...ours(otherRoutes).map((route) => route.event_id));
        // This round starts nothing: whatever it claimed stays queued.
        return new Set();
      });
      return new Set(ours(heldRoutes).filter((route) => route.event_id !== second));
    });
    assert.deepEqual(seenByOther, [], 'no event of the first round was claimed by the second');
    assert.deepEqual(await queued(eventIds), [second], 'only the event whose start failed is still queued');
  });

  it('an event of a workspace with no endpoint is neither queued nor wakes a dispatcher; once the workspace has one, the next event does both', async () => {
    // What a dispatcher hears (workers/webhook-dispatcher.ts): notifications arrive in commit order.
    const listener = new pg.Client({ connectionString: dispatcherUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (message) => heard.push(message.payload ?? ''));
    await listener.query('LISTEN wa_webhook_outbox');
    const workspaceId = uniqueId('ws-no-endpoint');
    const sessionId = uniqueId('no-endpoint');
    await insertAccount(pool, { workspaceId, sessionId });
    const change = (status: 'authenticated' | 'disconnected', index: number) =>
      recordStatusChange(pool, {
        sessionId: sessionKey(workspaceId, sessionId),
        status,
        eventType: status,
        dedupeKey: `${sessionId}:${index}`,
      });
    const [withoutEndpoint] = (await change('authenticated', 0)).eventIds;
    assert.ok(withoutEndpoint);
    assert.deepEqual(await queued([withoutEndpoint]), []);
    await setWorkspaceWebhook(pool, workspaceId, 'http://127.0.0.1:9/hooks');
    const [withEndpoint] = (await change('disconnected', 1)).eventIds;
    assert.ok(withEndpoint);
    assert.deepEqual(await queued([withoutEndpoint, withEndpoint]), [withEndpoint]);
    try {
      await eventually(async () => (heard.length > 0 ? true : undefined), 10_000, 'a notification');
      assert.deepEqual(heard, [String(withEndpoint)]);
    } finally {
      await listener.end();
    }
  });
});

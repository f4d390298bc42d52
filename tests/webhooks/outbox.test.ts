import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sql, type DatabasePool } from 'slonik';
import { createDatabasePool } from '../../db/pool.js';
import { z } from 'zod';
import { insertAccount, recordLoginCode, recordStatusChange } from '../../db/accounts.js';
import { sessionKey } from '../../domain/session-key.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { eventually, testStackEnv, uniqueId } from '../helpers/context.js';
import { setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import { startTestWorker } from '../helpers/worker-process.js';

/**
 * The event rows are the webhook outbox: whoever commits an event (a workflow's activity, the API, a process that
 * dies right after), its delivery is started by the workers' dispatchers, woken by its outbox row's notification.
 */
describe('webhook outbox', { timeout: 120_000 }, () => {
  // A database of its own, so the only dispatchers are this test's two workers: another file's worker would claim
  // these events and start their deliveries on its own task queue.
  const database = `outbox_e2e_${Date.now()}`;
  let admin: pg.Client;
  let pool: DatabasePool;
  const workers: ChildHandle[] = [];
  let taskQueue: string;
  let receiver: Server;
  let url: string;
  const received: { eventId: string; at: number }[] = [];

  before(async () => {
    admin = new pg.Client({ connectionString: testStackEnv().databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const databaseUrl = new URL(testStackEnv().databaseUrl);
    databaseUrl.pathname = `/${database}`;
    pool = await createDatabasePool(databaseUrl.toString(), { maximumPoolSize: 4 });
    const first = await startTestWorker({ DATABASE_URL: databaseUrl.toString() });
    taskQueue = first.taskQueue;
    workers.push(first.worker, (await startTestWorker({ DATABASE_URL: databaseUrl.toString() }, taskQueue)).worker);
    receiver = createServer((request, response) => {
      received.push({ eventId: String(request.headers['webhook-id']), at: Date.now() });
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  after(async () => {
    for (const worker of workers) await worker.stop('SIGTERM');
    await new Promise((resolve) => receiver?.close(resolve));
    await pool?.end();
    await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin?.end();
  });

  /** An account of a fresh workspace whose webhook goes to the receiver. */
  const account = async () => {
    const workspaceId = uniqueId('ws-outbox');
    await setWorkspaceWebhook(pool, workspaceId, url);
    const sessionId = uniqueId('outbox');
    await insertAccount(pool, { workspaceId, sessionId });
    return { key: sessionKey(workspaceId, sessionId), sessionId };
  };

  it('an event committed with no workflow asking is delivered within seconds, once; a QR event is never sent', async () => {
    const { key, sessionId } = await account();
    // What an API process leaves when it dies right after its commit: the event row, nothing else.
    const committedAt = Date.now();
    const change = { sessionId: key, status: 'qr_scanning' as const, eventType: 'session_created' as const };
    const [eventId] = (await recordStatusChange(pool, { ...change, dedupeKey: sessionId })).eventIds;
    assert.ok(eventId);
    await recordLoginCode(pool, { sessionId: key, kind: 'qr', value: 'qr-secret', dedupeKey: `${sessionId}:qr` });
    const qrEventId = await pool.oneFirst(
      sql.type(z.object({ id: z.number() }))`SELECT id FROM account_events WHERE dedupe_key = ${`${sessionId}:qr`}`,
    );

    const delivery = await eventually(
      async () => received.find((entry) => entry.eventId === `evt_${eventId}`),
      30_000,
      'the delivery',
    );
    // A generous bound: the point is that no minute-long sweep was waited for.
    assert.ok(delivery.at - committedAt < 10_000, `delivered ${delivery.at - committedAt} ms after its commit`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(received.filter((entry) => entry.eventId === `evt_${eventId}`).length, 1, 'delivered once');
    assert.ok(!received.some((entry) => entry.eventId === `evt_${qrEventId}`), 'the QR event was not sent');
  });

  it('with two dispatchers, a burst of events is delivered once each', async () => {
    const { key, sessionId } = await account();
    const eventIds: number[] = [];
    for (let index = 0; index < 40; index += 1) {
      const status =
        index === 0 ? ('authenticated' as const) : index % 2 === 0 ? ('disconnected' as const) : ('connected' as const);
      const change = {
        sessionId: key,
        status,
        eventType: status === 'connected' ? ('session_ready' as const) : status,
        dedupeKey: `${sessionId}:${index}`,
      };
      eventIds.push(...(await recordStatusChange(pool, change)).eventIds);
    }
    assert.ok(eventIds.length >= 40, `the burst wrote its events (${eventIds.length})`);
    await eventually(
      async () => (eventIds.every((id) => received.some((entry) => entry.eventId === `evt_${id}`)) ? true : undefined),
      60_000,
      'every event of the burst delivered',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const counts = eventIds.map((id) => received.filter((entry) => entry.eventId === `evt_${id}`).length);
    assert.deepEqual(new Set(counts), new Set([1]), 'each once');
    const attempts = await pool.oneFirst(sql.type(z.object({ count: z.number() }))`
      SELECT count(*)::int AS count FROM webhook_deliveries WHERE event_id = ANY(${sql.array(eventIds, 'int8')})
    `);
    assert.equal(attempts, eventIds.length, 'one attempt recorded per event');
  });
});

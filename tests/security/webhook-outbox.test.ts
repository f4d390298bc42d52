import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { insertAccount, recordLoginCode, recordStatusChange } from '../../db/accounts.js';
import { setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { webhookOutbox } from '../../workflows/webhook-outbox.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';
import { sessionKey } from '../../domain/session-key.js';

/**
 * The event rows are the webhook outbox: an event committed by a process that died before starting its delivery is
 * still delivered, by the outbox a schedule runs every minute.
 */
describe('webhook outbox', () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: ChildHandle;
  let taskQueue: string;
  let receiver: Server;
  let url: string;
  const receivedEventIds: string[] = [];

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    ({ worker, taskQueue } = await startTestWorker());
    receiver = createServer((request, response) => {
      receivedEventIds.push(String(request.headers['webhook-id']));
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await new Promise((resolve) => receiver?.close(resolve));
    await closeClient?.();
    await pool?.end();
  });

  it('a worker makes sure the outbox runs every minute, as one schedule for its task queue', async () => {
    const description = await client.schedule.getHandle(`webhook-outbox-${taskQueue}`).describe();
    assert.equal(description.action.type, 'startWorkflow');
    assert.equal(description.action.workflowType, 'webhookOutbox');
    assert.deepEqual(
      description.spec.intervals?.map((interval) => interval.every),
      [60_000],
    );
  });

  it('an event committed without a delivery started is delivered by the outbox, once; a QR event never', async () => {
    const workspaceId = uniqueId('ws-outbox');
    await setWorkspaceWebhook(pool, workspaceId, url);
    const sessionId = uniqueId('outbox');
    await insertAccount(pool, { workspaceId, sessionId });
    // What an API process leaves when it dies between its commit and the start of the delivery.
    const key = sessionKey(workspaceId, sessionId);
    const change = {
      sessionId: key,
      status: 'qr_scanning' as const,
      eventType: 'session_created' as const,
      dedupeKey: sessionId,
    };
    const [eventId] = (await recordStatusChange(pool, change)).eventIds;
    assert.ok(eventId);
    // A login code is shown to browsers, never sent to backends: the outbox leaves it.
    await recordLoginCode(pool, { sessionId: key, kind: 'qr', value: 'qr-secret', dedupeKey: `${sessionId}:qr` });
    const qrEventId = await pool.oneFirst(
      sql.type(z.object({ id: z.number() }))`SELECT id FROM account_events WHERE dedupe_key = ${`${sessionId}:qr`}`,
    );

    const runOutbox = () =>
      client.workflow.execute(webhookOutbox, {
        taskQueue,
        workflowId: uniqueId('outbox-run'),
        args: [{ olderThanSeconds: 0, withinSeconds: 3_600, limit: 500 }],
      });
    assert.ok((await runOutbox()) >= 1, 'the outbox found the event');
    await eventually(async () => (receivedEventIds.includes(`evt_${eventId}`) ? true : undefined), 30_000);
    const attempts = await eventually(async () => {
      const rows = await pool.anyFirst(
        sql.type(
          z.object({ delivered: z.boolean() }),
        )`SELECT delivered FROM webhook_deliveries WHERE event_id = ${eventId}`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    assert.deepEqual(attempts, [true], 'recorded as delivered at its first attempt');

    await runOutbox();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(receivedEventIds.filter((id) => id === `evt_${eventId}`).length, 1, 'delivered once');
    assert.ok(!receivedEventIds.includes(`evt_${qrEventId}`), 'the QR event was not sent');
  });
});

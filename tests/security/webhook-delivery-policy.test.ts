import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { createWebhookActivities } from '../../activities/webhooks.js';
import { insertAccount, recordStatusChange } from '../../db/accounts.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { firstDeliveryOf, setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import { STRICT_POLICY, webhookPolicyFromEnv } from '../../webhooks/network-policy.js';
import { openPool, uniqueId } from '../helpers/context.js';
import { sessionKey } from '../../domain/session-key.js';

/**
 * Deliveries under the webhook network policy, against receivers on loopback only: the policy's refusals happen
 * before any connection, so the refused cases send nothing anywhere.
 */
describe('webhook deliveries under the network policy', () => {
  let pool: DatabasePool;
  let receiver: Server;
  let port: number;
  const hits: string[] = [];

  before(async () => {
    // Its events are delivered here, under the policy each case names, never by another test's worker.
    pool = await openPool({ taskQueue: uniqueId('tq-policy') });
    receiver = createServer((request, response) => {
      hits.push(request.url ?? '');
      request.resume();
      if (request.url === '/redirect') return void response.writeHead(302, { location: '/elsewhere' }).end();
      if (request.url === '/huge') return void response.writeHead(200).end(Buffer.alloc(8 * 1024 * 1024, 'x'));
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => receiver.close(resolve));
    await pool.end();
  });

  /** An account event whose workspace posts its webhooks to `url`. */
  const eventFor = async (url: string) => {
    const workspaceId = uniqueId('ws-policy');
    const sessionId = uniqueId('sess-policy');
    await setWorkspaceWebhook(pool, workspaceId, url);
    await insertAccount(pool, { workspaceId, sessionId });
    const change = {
      sessionId: sessionKey(workspaceId, sessionId),
      status: 'qr_scanning' as const,
      eventType: 'session_created' as const,
      dedupeKey: sessionId,
    };
    const { eventIds } = await recordStatusChange(pool, change);
    return { workspaceId, sessionId, eventId: eventIds[0] ?? 0 };
  };

  it('a name that resolves to loopback is refused when the delivery connects, nothing is sent, and the tenant reads why', async () => {
    const { workspaceId, sessionId, eventId } = await eventFor(`https://localhost:${port}/hook`);
    const before = hits.length;
    await assert.rejects(
      createWebhookActivities(pool, keyringFromEnv(process.env), STRICT_POLICY).deliverWebhook(
        await firstDeliveryOf(pool, eventId),
      ),
      {
        type: 'WebhookRefused',
        nonRetryable: true,
      },
    );
    assert.equal(hits.length, before, 'no request reached the receiver');
    const [attempt] = await listDeliveries(pool, { workspaceId, sessionId, limit: 10 });
    assert.match(attempt?.error ?? '', /refused by the webhook network policy: localhost resolves to .*loopback/);
  });

  it('an allowed development host gets the event over http', async () => {
    const { eventId } = await eventFor(`http://localhost:${port}/hook`);
    const policy = webhookPolicyFromEnv('localhost');
    assert.deepEqual(
      await createWebhookActivities(pool, keyringFromEnv(process.env), policy).deliverWebhook(
        await firstDeliveryOf(pool, eventId),
      ),
      {
        delivered: true,
        statusCode: 204,
        endpointGone: false,
      },
    );
  });

  it('never follows a redirect, and reads a huge answer only up to its cap', async () => {
    const policy = webhookPolicyFromEnv('127.0.0.1');
    const redirected = await eventFor(`http://127.0.0.1:${port}/redirect`);
    await assert.rejects(
      createWebhookActivities(pool, keyringFromEnv(process.env), policy).deliverWebhook(
        await firstDeliveryOf(pool, redirected.eventId),
      ),
    );
    assert.ok(!hits.includes('/elsewhere'), 'the redirect was not followed');

    const huge = await eventFor(`http://127.0.0.1:${port}/huge`);
    const activities = createWebhookActivities(pool, keyringFromEnv(process.env), policy, {
      timeoutMs: 10_000,
      maxResponseBytes: 1024,
    });
    assert.deepEqual(await activities.deliverWebhook(await firstDeliveryOf(pool, huge.eventId)), {
      delivered: true,
      statusCode: 200,
      endpointGone: false,
    });
  });
});

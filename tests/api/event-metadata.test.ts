import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import WebSocket from 'ws';
import { WEBHOOK_EVENT_TYPES } from '../../domain/account-event-types.js';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface Carried {
  type?: string;
  event?: string;
  sessionId: string;
  metadata?: Record<string, unknown>;
}

describe("the account's metadata comes back with every event", { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  let baseUrl: string;
  let receiver: Server;
  let receiverUrl: string;
  const webhooks: Carried[] = [];

  before(async () => {
    api = await buildTestApi(stack.pool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        webhooks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Carried);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  after(async () => {
    await api?.app.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('in each webhook and each stream message, as the backend gave it; each webhook matches its published schema', async () => {
    const workspaceId = uniqueId('ws-metadata');
    const key = await api.keyFor(workspaceId);
    await setWorkspaceWebhook(stack.pool, workspaceId, receiverUrl);
    const metadata = { crm: 'A-17', tenant: { id: 42, plan: 'pro' } };
    const sessionId = uniqueId('with-metadata');
    const created = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId, metadata },
    });
    assert.equal(created.statusCode, 201, created.body);

    const streamed: Carried[] = [];
    const socket = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/v1/stream?${new URLSearchParams({ workspaceId, lastEventId: '0', access_token: key }).toString()}`,
    );
    socket.on('message', (data: Buffer) => streamed.push(JSON.parse(data.toString('utf8')) as Carried));
    try {
      const webhook = await eventually(
        async () => webhooks.find((payload) => payload.sessionId === sessionId && payload.event === 'session_created'),
        30_000,
        'the session_created webhook',
      );
      assert.deepEqual(webhook.metadata, metadata);
      const message = await eventually(
        async () => streamed.find((event) => event.type === 'session_created'),
        30_000,
        'the session_created stream message',
      );
      assert.deepEqual(message.metadata, metadata);
      const qr = await eventually(
        async () => streamed.find((event) => event.type === 'qr'),
        30_000,
        'a QR on the stream',
      );
      assert.deepEqual(qr.metadata, metadata, 'every message, not only the first');

      await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone(), pushName: 'Toko Maju' });
      const ready = await eventually(
        async () => webhooks.find((payload) => payload.sessionId === sessionId && payload.event === 'session_ready'),
        30_000,
        'the session_ready webhook',
      );
      assert.deepEqual(ready.metadata, metadata);

      // The payload schema the OpenAPI document publishes (and the generated client types) is what was sent.
      const document = (await api.as(key, { url: '/docs/json' })).json<{
        components: { schemas: Record<string, unknown> };
      }>();
      const published = document.components.schemas.WebhookPayload as {
        anyOf: { properties: { event: { enum: string[] } } }[];
      };
      assert.deepEqual(
        published.anyOf.map((shape) => shape.properties.event.enum[0]),
        [...WEBHOOK_EVENT_TYPES],
        'one shape per event of the catalogue',
      );
      const validate = new Ajv({ strict: false, validateFormats: false }).compile(published);
      // Deliveries run side by side: they arrive in any order.
      const sent = await eventually(
        async () => {
          const ours = webhooks.filter((payload) => payload.sessionId === sessionId);
          return ours.length >= 3 ? ours : undefined;
        },
        30_000,
        'the three webhooks of a connection',
      );
      assert.deepEqual(sent.map((payload) => payload.event).sort(), [
        'authenticated',
        'session_created',
        'session_ready',
      ]);
      for (const payload of sent) {
        assert.ok(validate(payload), `${payload.event}: ${JSON.stringify(validate.errors)}`);
      }
    } finally {
      socket.close();
    }
  });
});

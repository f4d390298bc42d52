import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import { verifyWebhook } from '../../webhooks/signing.js';
import { randomPhone } from '../helpers/accounts.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface Received {
  eventId: number;
  event: string;
  verified: boolean;
  answered: number;
}

/** A backend's webhook receiver on loopback: answers from a script, verifies every signature as the earlier Node service's receivers did. */
async function startReceiver(
  secretOf: () => string,
  answers: (count: number) => number,
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const payload = JSON.parse(rawBody) as { eventId: number; event: string };
    const status = answers(received.length + 1);
    received.push({
      eventId: payload.eventId,
      event: payload.event,
      verified: verifyWebhook({ headers: request.headers, rawBody, secret: secretOf() }).ok,
      answered: status,
    });
    response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/webhooks/whatsapp`, received, server };
}

describe('webhook delivery (durable, signed, at least once)', { timeout: 180_000 }, () => {
  const stack = useSimulatedWorkerStack();

  it('a receiver that fails 3 times then recovers gets every event, signed, each attempt recorded, no duplicates', async () => {
    const workspaceId = uniqueId('ws-hooks');
    let secret = '';
    const receiver = await startReceiver(
      () => secret,
      (count) => (count <= 3 ? 500 : 200),
    );
    try {
      secret = await setWorkspaceWebhook(stack.pool, workspaceId, receiver.url);
      const { sessionId } = await stack.accounts.create({ workspaceId });
      await stack.accounts.showingQr(sessionId);
      await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
      await stack.accounts.rowWithStatus(sessionId, 'connected');

      const expected = ['session_created', 'authenticated', 'session_ready'];
      await eventually(
        async () => {
          const delivered = new Set(receiver.received.filter((r) => r.answered === 200).map((r) => r.event));
          return expected.every((event) => delivered.has(event)) ? true : undefined;
        },
        90_000,
        'every status event delivered',
      );

      assert.ok(
        receiver.received.every((r) => r.verified),
        'every delivery verifies with the workspace secret',
      );
      const deliveredIds = receiver.received.filter((r) => r.answered === 200).map((r) => r.eventId);
      assert.equal(new Set(deliveredIds).size, deliveredIds.length, 'no event id delivered twice');
      assert.ok(!receiver.received.some((r) => r.event === 'qr'), 'QR codes go to browsers, not to backends');

      const attempts = await listDeliveries(stack.pool, { workspaceId, sessionId, limit: 100 });
      assert.equal(attempts.length, receiver.received.length, 'every attempt is recorded');
      const failed = attempts.filter((a) => !a.delivered);
      assert.equal(failed.length, 3);
      for (const attempt of failed) assert.equal(attempt.status_code, 500);
      for (const attempt of attempts) assert.ok(attempt.latency_ms !== null && attempt.latency_ms >= 0);
      const retried = attempts.filter((a) => a.attempt > 1);
      assert.ok(retried.length >= 1, 'failed events were retried');
    } finally {
      receiver.server.close();
    }
  });

  it('a 410 Gone is not retried', async () => {
    const workspaceId = uniqueId('ws-gone');
    const receiver = await startReceiver(
      () => '',
      () => 410,
    );
    try {
      await setWorkspaceWebhook(stack.pool, workspaceId, receiver.url);
      const { sessionId } = await stack.accounts.create({ workspaceId });
      await eventually(
        async () =>
          (await listDeliveries(stack.pool, { workspaceId, sessionId, limit: 10 })).length >= 1 ? true : undefined,
        30_000,
        'a first attempt',
      );
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const attempts = await listDeliveries(stack.pool, { workspaceId, sessionId, limit: 10 });
      assert.equal(attempts.length, 1, 'one attempt, no retry');
      assert.equal(attempts[0]?.status_code, 410);
    } finally {
      receiver.server.close();
    }
  });
});

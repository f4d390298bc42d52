import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createWaConnectClient } from '../../clients/typescript/index.js';
import { firstDeliveryId } from '../../db/webhook-deliveries.js';
import { EVENTS_NOT_SENT_AS_WEBHOOKS } from '../../domain/webhook-events.js';
import { verifyWebhook } from '../../webhooks/signing.js';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface Received {
  webhookId: string;
  eventId: number;
  event: string;
  sessionId: string;
  answered: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A backend's receiver on loopback that can be down (answers 503) or up (204), and keeps what reached it. */
class Receiver {
  readonly received: Received[] = [];
  up = true;
  /** While set, every answer waits for it: what the receiver is sent stays in flight. */
  hold: Promise<void> | null = null;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver | null = null;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        await receiver?.hold;
        const body = Buffer.concat(chunks).toString('utf8');
        const payload = JSON.parse(body) as { eventId: number; event: string; sessionId: string };
        const answered = receiver?.up ? 204 : 503;
        receiver?.received.push({
          webhookId: String(request.headers['webhook-id']),
          eventId: payload.eventId,
          event: payload.event,
          sessionId: payload.sessionId,
          answered,
          headers: request.headers,
          body,
        });
        response.writeHead(answered).end();
      });
    });
    receiver = new Receiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  delivered(sessionId: string): Received[] {
    return this.received.filter((entry) => entry.sessionId === sessionId && entry.answered === 204);
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('webhook endpoints: filters, redelivery and replay', { timeout: 240_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  let apiPool: DatabasePool;
  let baseUrl: string;
  const receivers: Receiver[] = [];

  before(async () => {
    // Events this API writes are dispatched by this file's worker, whose queue the deliveries run on.
    apiPool = await apiRolePool(stack.accounts.taskQueue);
    api = await buildTestApi(apiPool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await api?.app.close();
    await apiPool?.end();
    for (const receiver of receivers) await receiver.close();
  });

  const receiver = async () => {
    const started = await Receiver.start();
    receivers.push(started);
    return started;
  };

  /** A workspace with a key, and the generated client speaking for it. */
  const workspace = async () => {
    const workspaceId = uniqueId('ws-endpoints');
    const key = await api.keyFor(workspaceId);
    return { workspaceId, key, client: createWaConnectClient(baseUrl, key) };
  };

  const addEndpoint = async (
    ws: Awaited<ReturnType<typeof workspace>>,
    body: { url: string; eventTypes?: ('session_ready' | 'authenticated')[]; sessionId?: string },
  ) => {
    const created = await ws.client.POST('/v1/workspaces/{workspaceId}/webhook-endpoints', {
      params: { path: { workspaceId: ws.workspaceId } },
      body,
    });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    assert.ok(created.data);
    return created.data;
  };

  /** An account created through the API and connected by the simulated phone. */
  const connectedAccount = async (ws: Awaited<ReturnType<typeof workspace>>) => {
    const created = await ws.client.POST('/v1/workspaces/{workspaceId}/accounts', {
      params: { path: { workspaceId: ws.workspaceId } },
      body: {},
    });
    assert.equal(created.response.status, 201);
    const sessionId = created.data?.sessionId ?? '';
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    return sessionId;
  };

  /** The account's events a backend is sent, oldest first: the truth a receiver is checked against. */
  const webhookEventIds = async (workspaceId: string, sessionId: string, afterEventId = 0) =>
    stack.pool.anyFirst(sql.type(z.object({ id: z.number() }))`
      SELECT id FROM account_events
      WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId} AND id > ${afterEventId}
        AND type <> ALL(${sql.array([...EVENTS_NOT_SENT_AS_WEBHOOKS], 'text')})
      ORDER BY id
    `);

  const resendFinished = async (ws: Awaited<ReturnType<typeof workspace>>, resendId: string) =>
    eventually(
      async () => {
        const status = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-resends/{resendId}', {
          params: { path: { workspaceId: ws.workspaceId, resendId } },
        });
        return status.data?.state === 'running' ? undefined : status.data;
      },
      60_000,
      `resend ${resendId} finished`,
    );

  it('an endpoint that wants only session_ready gets nothing else, signed with its own secret; one that wants all gets every event', async () => {
    const ws = await workspace();
    const onlyReady = await receiver();
    const everything = await receiver();
    const readyEndpoint = await addEndpoint(ws, { url: onlyReady.url, eventTypes: ['session_ready'] });
    await addEndpoint(ws, { url: everything.url });

    const sessionId = await connectedAccount(ws);
    const all = await webhookEventIds(ws.workspaceId, sessionId);
    assert.ok(all.length >= 3, `a connection's events (${all.length})`);
    await eventually(
      async () => (everything.delivered(sessionId).length >= all.length ? true : undefined),
      60_000,
      'every event at the endpoint that wants all',
    );
    await eventually(
      async () => (onlyReady.delivered(sessionId).length >= 1 ? true : undefined),
      30_000,
      'session_ready at the filtered endpoint',
    );
    // Whatever else was on its way has had the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    assert.deepEqual(
      onlyReady.received.filter((entry) => entry.sessionId === sessionId).map((entry) => entry.event),
      ['session_ready'],
      'the filtered endpoint got session_ready, once, and nothing else',
    );
    const [ready] = onlyReady.received;
    assert.ok(ready);
    assert.equal(
      verifyWebhook({ headers: ready.headers, rawBody: ready.body, secret: readyEndpoint.signingSecret }).ok,
      true,
      "signed with the endpoint's own secret",
    );
    assert.deepEqual(
      everything
        .delivered(sessionId)
        .map((entry) => entry.eventId)
        .sort((a, b) => a - b),
      [...all],
      'the endpoint without a filter got every event, once each',
    );
  });

  it('an endpoint disabled after failing for days gets exactly what it missed by resending its failed deliveries, in order, marked as redeliveries', async () => {
    const ws = await workspace();
    const down = await receiver();
    down.up = false;
    const endpoint = await addEndpoint(ws, { url: down.url });
    // Three days of failures, without waiting them: the next failed attempt ends the stretch.
    await stack.pool.query(
      sql.unsafe`UPDATE webhook_endpoints SET failing_since = now() - interval '73 hours' WHERE id = ${endpoint.id}`,
    );
    const created = await ws.client.POST('/v1/workspaces/{workspaceId}/accounts', {
      params: { path: { workspaceId: ws.workspaceId } },
      body: {},
    });
    const sessionId = created.data?.sessionId ?? '';
    const [firstEventId] = await eventually(
      async () => {
        const ids = await webhookEventIds(ws.workspaceId, sessionId);
        return ids.length > 0 ? ids : undefined;
      },
      30_000,
      'session_created written',
    );
    assert.ok(firstEventId);
    const disabled = await eventually(
      async () => {
        const read = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}', {
          params: { path: { workspaceId: ws.workspaceId, endpointId: endpoint.id } },
        });
        return read.data?.enabled === false ? read.data : undefined;
      },
      30_000,
      'the endpoint disabled',
    );
    assert.equal(disabled.disabledReason, 'failing');
    // The delivery under way stops at its next attempt: the endpoint is disabled.
    await stack.client.workflow.getHandle(firstDeliveryId(firstEventId, endpoint.id)).result();
    const audit = await api.as(ws.key, { url: `/v1/workspaces/${ws.workspaceId}/audit` });
    assert.ok(
      audit
        .json<{ items: { action: string; actor: { kind: string }; target: string }[] }>()
        .items.some(
          (entry) =>
            entry.action === 'disable webhook endpoint' &&
            entry.actor.kind === 'service' &&
            entry.target === endpoint.id,
        ),
      'the service said in the audit log that it disabled the endpoint',
    );

    // While it is disabled the account connects: those events are missed, not sent.
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    const missedIds = await webhookEventIds(ws.workspaceId, sessionId);
    await eventually(
      async () => {
        const missed = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-deliveries', {
          params: { path: { workspaceId: ws.workspaceId }, query: { endpointId: endpoint.id, outcome: 'failed' } },
        });
        const eventIds = new Set(missed.data?.items.map((item) => item.eventId));
        return missedIds.every((id) => eventIds.has(id)) ? true : undefined;
      },
      30_000,
      'every event recorded as missed or failed',
    );
    const sentWhileDown = down.received.length;

    down.up = true;
    const enabled = await ws.client.PATCH('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}', {
      params: { path: { workspaceId: ws.workspaceId, endpointId: endpoint.id } },
      body: { enabled: true },
    });
    assert.equal(enabled.response.status, 200);
    assert.ok(enabled.data?.missed, 'enabling it offers what it missed');
    assert.equal(enabled.data.missed.failedEvents, missedIds.length);

    const resend = await ws.client.POST('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}/resend', {
      params: { path: { workspaceId: ws.workspaceId, endpointId: endpoint.id } },
      body: { failedSince: enabled.data.missed.since, perSecond: 20 },
    });
    assert.equal(resend.response.status, 202, JSON.stringify(resend.error));
    assert.equal(resend.data?.events, missedIds.length);
    const finished = await resendFinished(ws, resend.data?.resendId ?? '');
    assert.equal(finished?.state, 'completed');

    const afterResend = down.received.slice(sentWhileDown);
    assert.deepEqual(
      afterResend.map((entry) => entry.eventId),
      [...missedIds],
      'exactly the missed events, in order, no gap and no duplicate',
    );
    assert.deepEqual(
      afterResend.map((entry) => entry.webhookId),
      missedIds.map((id) => `evt_${id}`),
      "each with its event's own webhook-id",
    );
    const log = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-deliveries', {
      params: { path: { workspaceId: ws.workspaceId }, query: { endpointId: endpoint.id, outcome: 'delivered' } },
    });
    assert.deepEqual(new Set(log.data?.items.map((item) => item.kind)), new Set(['redelivery']));
  });

  it('a replay since an event id sends every later event the endpoint wants, in order, once each, marked as replays; one delivery can be resent alone', async () => {
    const ws = await workspace();
    const live = await receiver();
    await addEndpoint(ws, { url: live.url });
    const sessionId = await connectedAccount(ws);
    await stack.accounts.phone(sessionId, 'drop');
    await stack.accounts.reconnected(sessionId);
    const all = await webhookEventIds(ws.workspaceId, sessionId);
    assert.ok(all.length >= 5, `a connection and a reconnection (${all.length} events)`);
    await eventually(
      async () => (live.delivered(sessionId).length >= all.length ? true : undefined),
      60_000,
      'the live deliveries',
    );

    const late = await receiver();
    const lateEndpoint = await addEndpoint(ws, { url: late.url, eventTypes: ['session_ready', 'authenticated'] });
    const afterEventId = all[0] ?? 0;
    const replay = await ws.client.POST('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}/replay', {
      params: { path: { workspaceId: ws.workspaceId, endpointId: lateEndpoint.id } },
      body: { afterEventId, sessionId, perSecond: 20 },
    });
    assert.equal(replay.response.status, 202, JSON.stringify(replay.error));
    const wanted = await stack.pool.anyFirst(sql.type(z.object({ id: z.number() }))`
      SELECT id FROM account_events WHERE workspace_id = ${ws.workspaceId} AND session_id = ${sessionId}
        AND id > ${afterEventId} AND type IN ('session_ready', 'authenticated') ORDER BY id
    `);
    assert.ok(wanted.length >= 3);
    assert.equal(replay.data?.events, wanted.length);
    assert.equal((await resendFinished(ws, replay.data?.resendId ?? ''))?.state, 'completed');
    assert.deepEqual(
      late.received.map((entry) => entry.eventId),
      [...wanted],
      'every wanted event after the id, in order, once each',
    );
    const replayed = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-deliveries', {
      params: { path: { workspaceId: ws.workspaceId }, query: { endpointId: lateEndpoint.id } },
    });
    assert.deepEqual(new Set(replayed.data?.items.map((item) => item.kind)), new Set(['replay']));

    // One delivery resent: the same event and webhook-id again, logged as a redelivery.
    const original = (
      await ws.client.GET('/v1/workspaces/{workspaceId}/accounts/{sessionId}/webhook-deliveries', {
        params: {
          path: { workspaceId: ws.workspaceId, sessionId },
          query: { eventType: 'session_ready', kind: 'delivery' },
        },
      })
    ).data?.items[0];
    assert.ok(original);
    const before = live.received.length;
    const redelivered = await ws.client.POST('/v1/workspaces/{workspaceId}/webhook-deliveries/{deliveryId}/redeliver', {
      params: { path: { workspaceId: ws.workspaceId, deliveryId: original.deliveryId } },
    });
    assert.equal(redelivered.response.status, 202);
    const again = await eventually(
      async () => live.received.slice(before).find((entry) => entry.eventId === original.eventId),
      30_000,
      'the redelivery',
    );
    assert.equal(again.webhookId, `evt_${original.eventId}`);
    const logged = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-deliveries', {
      params: { path: { workspaceId: ws.workspaceId }, query: { kind: 'redelivery' } },
    });
    assert.deepEqual(
      logged.data?.items.map((item) => [item.deliveryId, item.eventId]),
      [[redelivered.data?.deliveryId, original.eventId]],
    );
  });

  it('a workspace runs at most three resends or replays at once: a fourth is refused until one has ended; another workspace is not held back', async () => {
    const ws = await workspace();
    await connectedAccount(ws);
    // Added after the account's events: it is sent only the replays, whose answers wait until the test lets them go.
    const target = await receiver();
    let release = () => undefined as void;
    target.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const endpoint = await addEndpoint(ws, { url: target.url });
    const replay = (of: Awaited<ReturnType<typeof workspace>>, endpointId: string) =>
      of.client.POST('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}/replay', {
        params: { path: { workspaceId: of.workspaceId, endpointId } },
        body: { afterEventId: 0, perSecond: 20 },
      });
    const running: string[] = [];
    for (let started = 0; started < 3; started += 1) {
      const accepted = await replay(ws, endpoint.id);
      assert.equal(accepted.response.status, 202, JSON.stringify(accepted.error));
      assert.ok((accepted.data?.events ?? 0) >= 3, 'a replay with events to send');
      running.push(accepted.data?.resendId ?? '');
    }
    const fourth = await replay(ws, endpoint.id);
    assert.equal(fourth.response.status, 409);
    assert.equal((fourth.error as { code?: string } | undefined)?.code, 'webhook_resends_busy');

    const other = await workspace();
    const otherTarget = await receiver();
    const otherEndpoint = await addEndpoint(other, { url: otherTarget.url });
    assert.equal((await replay(other, otherEndpoint.id)).response.status, 202, 'another workspace starts its own');

    target.hold = null;
    release();
    assert.equal((await resendFinished(ws, running[0] ?? ''))?.state, 'completed');
    const afterOneEnded = await replay(ws, endpoint.id);
    assert.equal(afterOneEnded.response.status, 202, JSON.stringify(afterOneEnded.error));
  });

  it('another workspace reads and changes none of it (404 as for a missing one); bad input gets problem details; the single URL is one endpoint', async () => {
    const ws = await workspace();
    const other = await workspace();
    const target = await receiver();
    const endpoint = await addEndpoint(ws, { url: target.url });
    const path = { workspaceId: other.workspaceId, endpointId: endpoint.id };
    for (const response of [
      await other.client.GET('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}', { params: { path } }),
      await other.client.PATCH('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}', {
        params: { path },
        body: { enabled: false },
      }),
      await other.client.DELETE('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}', { params: { path } }),
      await other.client.POST('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}/replay', {
        params: { path },
        body: { afterEventId: 0 },
      }),
    ]) {
      assert.equal(response.response.status, 404);
      assert.equal((response.error as { code?: string } | undefined)?.code, 'webhook_endpoint_not_found');
    }
    // Its own workspace in the path, with the other's key: the workspace is as missing as one that does not exist.
    const foreign = await other.client.GET('/v1/workspaces/{workspaceId}/webhook-endpoints', {
      params: { path: { workspaceId: ws.workspaceId } },
    });
    assert.equal(foreign.response.status, 404);
    const listed = await other.client.GET('/v1/workspaces/{workspaceId}/webhook-endpoints', {
      params: { path: { workspaceId: other.workspaceId } },
    });
    assert.deepEqual(listed.data?.items, []);

    const bad = await api.as(ws.key, {
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/webhook-endpoints`,
      payload: { url: target.url, eventTypes: ['qr'] },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8');
    const backwards = await api.as(ws.key, {
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/webhook-endpoints/${endpoint.id}/resend`,
      payload: { failedSince: 'yesterday' },
    });
    assert.equal(backwards.statusCode, 400);

    const setting = await api.as(ws.key, {
      method: 'PUT',
      url: `/v1/workspaces/${ws.workspaceId}/webhook`,
      payload: { webhookUrl: target.url },
    });
    assert.equal(setting.statusCode, 200);
    const all = await ws.client.GET('/v1/workspaces/{workspaceId}/webhook-endpoints', {
      params: { path: { workspaceId: ws.workspaceId } },
    });
    const settingEndpoint = all.data?.items.find((item) => item.setting === 'workspace_webhook');
    assert.equal(settingEndpoint?.url, target.url);
    assert.equal(all.data?.items.length, 2);
    const filtered = await ws.client.PATCH('/v1/workspaces/{workspaceId}/webhook-endpoints/{endpointId}', {
      params: { path: { workspaceId: ws.workspaceId, endpointId: settingEndpoint?.id ?? '' } },
      body: { eventTypes: ['session_ready'] },
    });
    assert.equal(filtered.response.status, 409);
    assert.equal((filtered.error as { code?: string } | undefined)?.code, 'webhook_setting_endpoint');

    // Each change is in the workspace's audit with its actor; none in the other's.
    const audit = (key: string, workspaceId: string) =>
      api
        .as(key, { url: `/v1/workspaces/${workspaceId}/audit` })
        .then((response) => response.json<{ items: { action: string; actor: { name: string }; outcome: string }[] }>());
    const changes = (await audit(ws.key, ws.workspaceId)).items.filter((entry) => entry.action.includes('webhook'));
    assert.ok(
      changes.some((entry) => entry.action === 'POST /v1/workspaces/:workspaceId/webhook-endpoints'),
      JSON.stringify(changes),
    );
    assert.ok(changes.every((entry) => entry.actor.name === `test ${ws.workspaceId}`));
    assert.deepEqual(
      (await audit(other.key, other.workspaceId)).items.filter(
        (entry) => entry.action.includes('webhook') && entry.outcome === 'done',
      ),
      [],
      "the other workspace's audit holds only its own refused attempts",
    );
  });
});

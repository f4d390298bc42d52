import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { DatabasePool } from 'slonik';
import { createApiKey } from '../../db/workspaces.js';
import { WAIT_EVENT_TYPES } from '../../domain/account-wait.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { findFreePort } from '../../infra/ports.js';
import { startServiceProcess, waitForHttpOk } from '../../infra/service-processes.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, openPool, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker, testProcessDatabaseUrl } from '../helpers/worker-process.js';

interface StreamEvent {
  id: number;
  type: string;
  sessionId: string;
  status: string | null;
  detail: string | null;
}

/** A WebSocket subscriber that keeps what it received. */
function subscribe(
  baseUrl: string,
  query: Record<string, string>,
): Promise<{ socket: WebSocket; events: StreamEvent[] }> {
  const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/v1/stream?${new URLSearchParams(query).toString()}`);
  const events: StreamEvent[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse((data as Buffer).toString('utf8'));
    if (typeof message.id === 'number') events.push(message);
  });
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve({ socket, events }));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

/** The status events: neither QR codes nor what the account waits for (engine starts, retries). */
const types = (events: StreamEvent[]) =>
  events.filter((e) => e.type !== 'qr' && !WAIT_EVENT_TYPES.includes(e.type as never)).map((e) => e.type);
const increasing = (events: StreamEvent[]) =>
  events.every((event, i) => i === 0 || event.id > (events[i - 1] as StreamEvent).id);

describe('WebSocket push: fan-out across API processes, resume, authentication', { timeout: 180_000 }, () => {
  let pool: DatabasePool;
  let worker: ChildHandle;
  const apis: ChildHandle[] = [];
  const urls: string[] = [];
  const workspaceId = uniqueId('ws-stream');
  let key: string;

  const http = async (base: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json().catch(() => null)) as Record<string, unknown> };
  };

  before(async () => {
    pool = await openPool();
    const started = await startTestWorker(FAST_SIMULATOR_ENV);
    worker = started.worker;
    const { temporalAddress, outputDir } = testStackEnv();
    const databaseUrl = await testProcessDatabaseUrl('api');
    for (const name of ['a', 'b']) {
      const port = await findFreePort();
      const api = startServiceProcess(
        'api',
        {
          ...process.env,
          DATABASE_URL: databaseUrl,
          TEMPORAL_ADDRESS: temporalAddress,
          TASK_QUEUE: started.taskQueue,
          API_PORT: String(port),
          WA_ENGINE: 'simulated',
          LOG_LEVEL: 'info',
        },
        join(outputDir, `api-${name}-${port}.log`),
      );
      apis.push(api);
      urls.push(`http://127.0.0.1:${port}`);
      await waitForHttpOk(`http://127.0.0.1:${port}/ready`, [api], 60_000);
    }
    key = (await createApiKey(pool, { workspaceId, name: 'stream test' })).key;
  });
  after(async () => {
    for (const api of apis) await api.stop('SIGTERM');
    await worker?.stop('SIGTERM');
    await pool?.end();
  });

  it('every API process pushes every event, in increasing id order', async () => {
    const [a, b] = urls as [string, string];
    const onA = await subscribe(a, { workspaceId, access_token: key });
    const onB = await subscribe(b, { workspaceId, access_token: key });
    try {
      const created = await http(a, 'POST', `/v1/workspaces/${workspaceId}/accounts`, {});
      assert.equal(created.status, 201);
      const sessionId = String(created.json.sessionId);
      await eventually(
        async () => (onB.events.some((e) => e.type === 'qr') ? true : undefined),
        20_000,
        'a QR on the other API process',
      );
      assert.equal(
        (await http(b, 'POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: randomPhone() })).status,
        200,
      );
      for (const subscriber of [onA, onB]) {
        await eventually(
          async () => (types(subscriber.events).includes('session_ready') ? true : undefined),
          20_000,
          'session_ready',
        );
        assert.deepEqual(types(subscriber.events), ['session_created', 'authenticated', 'session_ready']);
        // Each message says in words what the account was doing or waiting for then.
        assert.deepEqual(
          subscriber.events.filter((e) => e.type !== 'qr').map((e) => e.detail),
          [
            'starting WhatsApp Web',
            'starting WhatsApp Web, attempt 1 of 13',
            'logged in; waiting for WhatsApp to finish loading',
            'connected',
          ],
        );
        assert.equal(subscriber.events.find((e) => e.type === 'qr')?.detail, 'waiting for the QR code to be scanned');
        assert.ok(increasing(subscriber.events));
      }
      assert.deepEqual(
        onA.events.map((e) => e.id),
        onB.events.map((e) => e.id),
        'both processes pushed the same events',
      );
    } finally {
      onA.socket.close();
      onB.socket.close();
    }
  });

  it('a client that reconnects with its last event id gets what it missed, then the live stream, each event once', async () => {
    const [a, b] = urls as [string, string];
    const created = await http(a, 'POST', `/v1/workspaces/${workspaceId}/accounts`, {});
    const sessionId = String(created.json.sessionId);
    const first = await subscribe(a, { workspaceId, sessionId, access_token: key });
    await eventually(async () => (first.events.some((e) => e.type === 'qr') ? true : undefined), 20_000, 'a QR');
    await http(b, 'POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: randomPhone() });
    await eventually(
      async () => (types(first.events).includes('session_ready') ? true : undefined),
      20_000,
      'connected',
    );
    first.socket.terminate(); // the connection drops

    const lastEventId = (first.events[first.events.length - 1] as StreamEvent).id;
    assert.equal((await http(b, 'POST', `/v1/simulator/sessions/${sessionId}/drop`)).status, 200);
    await eventually(
      async () => {
        const diagnostics = await http(a, 'GET', `/v1/workspaces/${workspaceId}/accounts/${sessionId}/diagnostics`);
        const seen = types(diagnostics.json.events as StreamEvent[]);
        return seen.slice(-2).join(',') === 'disconnected,session_ready' ? true : undefined;
      },
      20_000,
      'dropped and reconnected while the client was away',
    );

    const resumed = await subscribe(b, { workspaceId, sessionId, access_token: key, lastEventId: String(lastEventId) });
    try {
      await eventually(
        async () => (types(resumed.events).filter((t) => t === 'session_ready').length >= 1 ? true : undefined),
        20_000,
        'the missed events',
      );
      assert.deepEqual(types(resumed.events).slice(0, 2), ['disconnected', 'session_ready']);
      assert.ok(
        resumed.events.every((e) => e.id > lastEventId),
        'nothing it already had',
      );
      assert.ok(increasing(resumed.events), 'in order, no duplicates');
      // Then live: a restart arrives on the resumed socket.
      await http(a, 'POST', `/v1/workspaces/${workspaceId}/accounts/${sessionId}/restart`);
      await eventually(
        async () => (types(resumed.events).filter((t) => t === 'session_ready').length >= 2 ? true : undefined),
        20_000,
        'live events after the resume',
      );
      assert.ok(increasing(resumed.events));
    } finally {
      resumed.socket.close();
    }
  });

  it('never writes the key a browser passes as access_token into the logs', async () => {
    const { readFile, readdir } = await import('node:fs/promises');
    const { outputDir } = testStackEnv();
    const logs = (await readdir(outputDir)).filter((name) => name.startsWith('api-'));
    for (const name of logs)
      assert.doesNotMatch(await readFile(join(outputDir, name), 'utf8'), new RegExp(key.slice(0, 20)));
  });

  it('refuses a socket without a valid key, and a key of another workspace, before it opens', async () => {
    const [a] = urls as [string];
    await assert.rejects(subscribe(a, { workspaceId }), /HTTP 401/);
    const otherKey = (await createApiKey(pool, { workspaceId: uniqueId('ws-other'), name: 'other' })).key;
    await assert.rejects(subscribe(a, { workspaceId, access_token: otherKey }), /HTTP 404/);
  });
});

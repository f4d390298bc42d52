import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { buildApp } from '../../api/app.js';
import { legacyKeylessAccessFromEnv } from '../../api/legacy-keyless-access.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, testWebhookPolicy, type TestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

describe(
  'the rest of the API: listing, QR formats, primary, diagnostics, webhook settings, legacy session API',
  { timeout: 180_000 },
  () => {
    let pool: DatabasePool;
    let client: Client;
    let closeClient: () => Promise<void>;
    let worker: ChildHandle;
    let api: TestApi;
    let taskQueue: string;
    const workspaceId = uniqueId('ws-endpoints');
    let key: string;

    const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
      api.as(key, { method, url, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
    const connect = async (sessionId: string) => {
      await eventually(
        async () =>
          (await call('GET', `/v1/workspaces/${workspaceId}/accounts/${sessionId}`)).json().qr ? true : undefined,
        20_000,
        'a QR',
      );
      assert.equal(
        (await call('POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: randomPhone() })).statusCode,
        200,
      );
      return eventually(
        async () => {
          const account = (await call('GET', `/v1/workspaces/${workspaceId}/accounts/${sessionId}`)).json();
          return account.status === 'connected' ? account : undefined;
        },
        20_000,
        'connected',
      );
    };

    before(async () => {
      pool = await openPool();
      ({ client, close: closeClient } = await openTemporalClient());
      const started = await startTestWorker(FAST_SIMULATOR_ENV);
      worker = started.worker;
      taskQueue = started.taskQueue;
      api = await buildTestApi(pool, client, { taskQueue, simulator: true });
      key = await api.keyFor(workspaceId);
    });
    after(async () => {
      await api?.app.close();
      await worker?.stop('SIGTERM');
      await closeClient?.();
      await pool?.end();
    });

    it('QR as a raw string, a PNG and a data URL; 404 qr_not_available before one exists and after connecting', async () => {
      const created = (await call('POST', `/v1/workspaces/${workspaceId}/accounts`, {})).json();
      const early = await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/qr`);
      if (early.statusCode === 404) assert.equal(early.json().code, 'qr_not_available');
      const raw = await eventually<{ qr: string }>(
        async () => {
          const response = await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/qr`);
          return response.statusCode === 200 ? response.json<{ qr: string }>() : undefined;
        },
        20_000,
        'a QR',
      );
      assert.equal(typeof raw.qr, 'string');
      const png = await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/qr?format=png`);
      assert.equal(png.headers['content-type'], 'image/png');
      assert.deepEqual([...png.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      assert.equal(png.headers['cache-control'], 'no-store');
      const dataUrl = (
        await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/qr?format=data_url`)
      ).json();
      assert.match(dataUrl.dataUrl, /^data:image\/png;base64,/);
      const badFormat = await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/qr?format=gif`);
      assert.equal(badFormat.statusCode, 400);
      await connect(created.sessionId);
      const after = await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/qr`);
      assert.equal(after.statusCode, 404);
      assert.equal(after.json().code, 'qr_not_available');
    });

    it("lists a workspace's accounts, filtered by status and paginated", async () => {
      for (let i = 0; i < 3; i += 1)
        await call('POST', `/v1/workspaces/${workspaceId}/accounts`, { metadata: { n: i } });
      const all: string[] = [];
      let cursor: number | null = null;
      do {
        const page: { items: Array<{ sessionId: string }>; nextCursor: number | null } = (
          await call('GET', `/v1/workspaces/${workspaceId}/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        assert.ok(page.items.length <= 2);
        all.push(...page.items.map((a: { sessionId: string }) => a.sessionId));
        cursor = page.nextCursor;
      } while (cursor !== null);
      assert.equal(new Set(all).size, all.length, 'no account twice across pages');
      assert.ok(all.length >= 4);
      const connected = (await call('GET', `/v1/workspaces/${workspaceId}/accounts?status=connected`)).json();
      assert.ok(connected.items.length >= 1);
      assert.ok(connected.items.every((a: { status: string }) => a.status === 'connected'));
      for (const bad of ['status=online', 'limit=0', 'limit=1000', 'cursor=-1', 'colour=blue']) {
        const response = await call('GET', `/v1/workspaces/${workspaceId}/accounts?${bad}`);
        assert.equal(response.statusCode, 400, bad);
        assert.equal(response.json().code, 'validation_failed');
      }
    });

    it('sets the primary account; refuses one that is not connected', async () => {
      const first = (await call('POST', `/v1/workspaces/${workspaceId}/accounts`, {})).json();
      const second = (await call('POST', `/v1/workspaces/${workspaceId}/accounts`, {})).json();
      await connect(first.sessionId);
      const pending = await call('POST', `/v1/workspaces/${workspaceId}/accounts/${second.sessionId}/primary`);
      assert.equal(pending.statusCode, 409);
      assert.equal(pending.json().code, 'not_connected');
      await connect(second.sessionId);
      const made = await call('POST', `/v1/workspaces/${workspaceId}/accounts/${second.sessionId}/primary`);
      assert.equal(made.statusCode, 200, made.body);
      assert.equal(made.json().isPrimary, true);
      const primaries = (await call('GET', `/v1/workspaces/${workspaceId}/accounts?limit=200`))
        .json()
        .items.filter((a: { isPrimary: boolean }) => a.isPrimary);
      assert.equal(primaries.length, 1);
    });

    it('diagnostics: the row, events, the workflow with its pending activities, timings', async () => {
      const created = (await call('POST', `/v1/workspaces/${workspaceId}/accounts`, {})).json();
      await connect(created.sessionId);
      const diagnostics = (
        await call('GET', `/v1/workspaces/${workspaceId}/accounts/${created.sessionId}/diagnostics`)
      ).json();
      assert.equal(diagnostics.account.status, 'connected');
      assert.equal(diagnostics.workflow.status, 'RUNNING');
      assert.ok(
        diagnostics.workflow.pendingActivities.some(
          (a: { activityType: string }) => a.activityType === 'watchEngineSession',
        ),
        'the session watch is pending',
      );
      assert.ok(diagnostics.events.some((e: { type: string }) => e.type === 'session_ready'));
      assert.ok(
        diagnostics.events.every((e: { data: Record<string, unknown> }) => !('qr' in e.data)),
        'no QR payload in diagnostics',
      );
      for (const timing of ['qrGenerationMs', 'scanToConnectedMs', 'phoneExtractionMs'])
        assert.equal(typeof diagnostics.timings[timing], 'number', timing);
    });

    it('workspace webhook settings: read, set, rotate the secret, refuse a bad URL', async () => {
      const before = (await call('GET', `/v1/workspaces/${workspaceId}/webhook`)).json();
      assert.match(before.webhookSecret, /^whsec_/);
      const set = (
        await call('PUT', `/v1/workspaces/${workspaceId}/webhook`, { webhookUrl: 'https://backend.example/hooks' })
      ).json();
      assert.equal(set.webhookUrl, 'https://backend.example/hooks');
      assert.equal(set.webhookSecret, before.webhookSecret);
      const rotated = (
        await call('PUT', `/v1/workspaces/${workspaceId}/webhook`, { webhookUrl: null, rotateSecret: true })
      ).json();
      assert.notEqual(rotated.webhookSecret, before.webhookSecret);
      assert.equal(rotated.webhookUrl, null);
      const bad = await call('PUT', `/v1/workspaces/${workspaceId}/webhook`, { webhookUrl: 'ftp://nope' });
      assert.equal(bad.statusCode, 400);
      const account = (
        await call('POST', `/v1/workspaces/${workspaceId}/accounts`, { webhookUrl: 'http://127.0.0.1:9/hook' })
      ).json();
      const cleared = await call('PUT', `/v1/workspaces/${workspaceId}/accounts/${account.sessionId}/webhook`, {
        webhookUrl: null,
      });
      assert.equal(cleared.statusCode, 200);
    });

    it("the legacy session API's endpoints keep their paths and shapes", async () => {
      const sessionId = uniqueId('legacy');
      const init = await call('POST', '/api/session/init', {
        sessionId,
        workspaceId: 77,
        webhookUrl: 'http://127.0.0.1:8000/api/whatsapp/webhooks/webjs',
      });
      assert.equal(init.statusCode, 404, 'a workspace key cannot start sessions of another workspace');
      const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
        api.as(api.adminKey, { method, url, ...(payload ? { payload } : {}) });
      const started = await admin('POST', '/api/session/init', {
        sessionId,
        workspaceId: 77,
        webhookUrl: 'http://127.0.0.1:8000/api/whatsapp/webhooks/webjs',
      });
      assert.equal(started.statusCode, 201, started.body);
      assert.deepEqual(Object.keys(started.json()).sort(), [
        'detail',
        'failureReason',
        'isPrimary',
        'phoneNumber',
        'qrCode',
        'sessionId',
        'status',
        'success',
        'workspaceId',
      ]);
      assert.equal(started.json().workspaceId, '77');
      const status = await eventually(
        async () => {
          const body = (await admin('GET', `/api/session/${sessionId}/status`)).json();
          return body.qrCode ? body : undefined;
        },
        20_000,
        'a QR in the legacy status',
      );
      assert.equal(status.status, 'qr_scanning');
      assert.equal((await admin('GET', '/api/session/nope/status')).json().code, 'session_not_found');
      assert.equal((await admin('POST', '/api/session/init', { sessionId: 'x' })).statusCode, 400);
      const ended = await admin('DELETE', `/api/session/${sessionId}`);
      assert.deepEqual(ended.json(), { success: true, sessionId });
    });

    it("the legacy session API's endpoints answer without a key on loopback only when allowed, for the named workspaces only", async () => {
      const open = await buildApp({
        pool,
        databaseUrl: testStackEnv().databaseUrl,
        temporal: client,
        log: testLog,
        taskQueue,
        simulator: false,
        legacyKeyless: legacyKeylessAccessFromEnv(true, '78'),
        webhookPolicy: testWebhookPolicy(),
        proxyPolicy: testWebhookPolicy(),
        serviceWebVersion: null,
        keyring: keyringFromEnv(process.env),
      });
      try {
        const sessionId = uniqueId('legacy-open');
        const started = await open.inject({
          method: 'POST',
          url: '/api/session/init',
          payload: { sessionId, workspaceId: 78 },
        });
        assert.equal(started.statusCode, 201);
        assert.equal((await open.inject({ method: 'GET', url: `/api/session/${sessionId}/status` })).statusCode, 200);
        assert.equal(
          (await open.inject({ method: 'GET', url: '/v1/workspaces/78/accounts' })).statusCode,
          401,
          'only the legacy paths',
        );
        const remote = await open.inject({
          method: 'GET',
          url: `/api/session/${sessionId}/status`,
          remoteAddress: '10.1.2.3',
        });
        assert.equal(remote.statusCode, 401, 'never from another address');
        const proxied = await open.inject({
          method: 'GET',
          url: `/api/session/${sessionId}/status`,
          headers: { 'x-forwarded-for': '203.0.113.9' },
        });
        assert.equal(proxied.statusCode, 401, 'never through a proxy');
        const elsewhere = await open.inject({
          method: 'POST',
          url: '/api/session/init',
          payload: { sessionId: uniqueId('legacy-other'), workspaceId: 79 },
        });
        assert.equal(elsewhere.statusCode, 404, 'never a workspace the operator did not name');
        await open.inject({ method: 'DELETE', url: `/api/session/${sessionId}` });
      } finally {
        await open.close();
      }
    });
  },
);

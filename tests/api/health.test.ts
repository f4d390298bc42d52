import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { findFreePort } from '../../infra/ports.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { openPool, openTemporalClient } from '../helpers/context.js';

const SCRAPE_TOKEN = 'scrape-token-for-this-test-only';

describe('health and readiness', () => {
  let pool: DatabasePool;
  let app: FastifyInstance;
  let api: TestApi;
  let closeClient: () => Promise<void>;

  before(async () => {
    pool = await openPool();
    const { client, close } = await openTemporalClient();
    closeClient = close;
    api = await buildTestApi(pool, client, { taskQueue: 'unused', simulator: false, metricsToken: SCRAPE_TOKEN });
    app = api.app;
  });
  after(async () => {
    await app.close();
    await closeClient();
    await pool.end();
  });

  it('GET /health answers 200 while the process is up', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  it('GET /ready answers 200 when Temporal and PostgreSQL answer', async () => {
    const response = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.postgres.ok, true);
    assert.equal(body.checks.temporal.ok, true);
  });

  it('GET /ready answers 503 problem details naming Temporal when it is unreachable', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await findFreePort()}`, connectTimeout: 1_000 });
    const isolated = (
      await buildTestApi(pool, new Client({ connection, dataConverter: dataConverterFromEnv(process.env) }), {
        taskQueue: 'unused',
        simulator: false,
      })
    ).app;
    try {
      const response = await isolated.inject({ method: 'GET', url: '/ready' });
      assert.equal(response.statusCode, 503);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      const body = response.json();
      assert.equal(body.code, 'not_ready');
      assert.match(body.detail, /temporal/);
      assert.doesNotMatch(body.detail, /postgres/);
      assert.equal(body.checks.postgres.ok, true);
      assert.equal(body.checks.temporal.ok, false);
    } finally {
      // The connection is left unclosed on purpose: it never connected, and closing it while the timed-out
      // readiness call is still retrying throws inside the gRPC library.
      await isolated.close();
    }
  });

  it('serves /metrics to the scrape token and to admin keys only, with the account histograms', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'not without a key');
    const workspaceKey = await api.keyFor('ws-metrics');
    assert.equal((await api.as(workspaceKey, { method: 'GET', url: '/metrics' })).statusCode, 404, 'not a tenant');
    assert.equal((await api.as(api.adminKey, { method: 'GET', url: '/metrics' })).statusCode, 200, 'an admin');
    const response = await api.as(SCRAPE_TOKEN, { method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    for (const name of [
      'wa_qr_generation_seconds',
      'wa_scan_to_connected_seconds',
      'wa_phone_extraction_seconds',
      'wa_webhook_delivery_seconds',
      'wa_account_transitions_total',
    ]) {
      assert.match(response.body, new RegExp(`# TYPE ${name} `));
    }
    // Every route's requests are counted, not only the scrape's own.
    await app.inject({ method: 'GET', url: '/health' });
    await app.inject({ method: 'GET', url: '/no/such/route' });
    const after = (await api.as(SCRAPE_TOKEN, { method: 'GET', url: '/metrics' })).body;
    assert.match(
      after,
      /wa_api_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} [1-9]/,
    );
    assert.match(
      after,
      /wa_api_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]/,
    );
  });

  it('an unknown route is a 404 problem with a stable code and no stack trace', async () => {
    const response = await app.inject({ method: 'GET', url: '/no/such/route' });
    assert.equal(response.statusCode, 404);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    const body = response.json();
    assert.equal(body.code, 'route_not_found');
    assert.doesNotMatch(response.body, /at .*\.ts:\d+/);
  });
});

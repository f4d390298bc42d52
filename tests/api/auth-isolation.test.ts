import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { openPool, openTemporalClient, uniqueId } from '../helpers/context.js';

describe('API keys: authentication, workspace isolation, rate limits', () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let api: TestApi;
  const workspaceA = uniqueId('wsA');
  const workspaceB = uniqueId('wsB');
  let keyA: string;
  let keyB: string;
  let accountB: string;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    // No worker polls this queue: the workflows just wait, which is all these tests need.
    api = await buildTestApi(pool, client, { taskQueue: uniqueId('tq-idle'), simulator: true });
    keyA = await api.keyFor(workspaceA);
    keyB = await api.keyFor(workspaceB);
    const created = await api.as(keyB, { method: 'POST', url: `/v1/workspaces/${workspaceB}/accounts`, payload: {} });
    assert.equal(created.statusCode, 201);
    accountB = created.json().sessionId;
  });
  after(async () => {
    await api?.app.close();
    await closeClient?.();
    await pool?.end();
  });

  it('no key, a malformed key and an unknown key are 401 problems', async () => {
    const url = `/v1/workspaces/${workspaceB}/accounts`;
    const missing = await api.app.inject({ method: 'GET', url });
    const malformed = await api.as('nope', { method: 'GET', url });
    const unknown = await api.as(`wak_000000000000_${'x'.repeat(43)}`, { method: 'GET', url });
    for (const response of [missing, malformed, unknown]) {
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().code, 'unauthenticated');
    }
    const viaHeader = await api.app.inject({ method: 'GET', url, headers: { 'x-api-key': keyB } });
    assert.equal(viaHeader.statusCode, 200);
  });

  it('a key of workspace A can neither read nor change anything of workspace B: 404, as if it did not exist', async () => {
    const base = `/v1/workspaces/${workspaceB}/accounts`;
    const attempts = [
      { method: 'GET' as const, url: base },
      { method: 'POST' as const, url: base, payload: {} },
      { method: 'GET' as const, url: `${base}/${accountB}` },
      { method: 'GET' as const, url: `${base}/${accountB}/qr` },
      { method: 'GET' as const, url: `${base}/${accountB}/diagnostics` },
      { method: 'GET' as const, url: `${base}/${accountB}/webhook-deliveries` },
      { method: 'POST' as const, url: `${base}/${accountB}/restart` },
      { method: 'POST' as const, url: `${base}/${accountB}/primary` },
      { method: 'PUT' as const, url: `${base}/${accountB}/web-version`, payload: { version: '2.3000.1' } },
      { method: 'GET' as const, url: `/v1/workspaces/${workspaceB}/stuck-accounts` },
      { method: 'DELETE' as const, url: `${base}/${accountB}` },
      { method: 'GET' as const, url: `/v1/workspaces/${workspaceB}/webhook` },
      {
        method: 'PUT' as const,
        url: `/v1/workspaces/${workspaceB}/webhook`,
        payload: { webhookUrl: 'http://127.0.0.1:1/x' },
      },
      { method: 'GET' as const, url: `/api/session/${accountB}/status` },
      { method: 'DELETE' as const, url: `/api/session/${accountB}` },
      { method: 'POST' as const, url: `/v1/simulator/sessions/${accountB}/scan`, payload: { phone: '62811801641' } },
      { method: 'POST' as const, url: '/v1/admin/api-keys', payload: { workspaceId: workspaceB, name: 'steal' } },
    ];
    for (const attempt of attempts) {
      const response = await api.as(keyA, attempt);
      assert.equal(response.statusCode, 404, `${attempt.method} ${attempt.url}: ${response.body}`);
      // Exactly what a name that does not exist gets: existence does not leak.
      const ghost = await api.as(keyA, {
        ...attempt,
        url: attempt.url.replaceAll(accountB, 'ghost-account').replaceAll(workspaceB, 'ghost-ws'),
      });
      assert.equal(ghost.statusCode, 404);
      assert.equal(response.json().code, ghost.json().code, attempt.url);
      assert.equal(
        response.body.replaceAll(accountB, 'ghost-account').replaceAll(workspaceB, 'ghost-ws'),
        ghost.body,
        attempt.url,
      );
    }
    // Same answer for an account that does not exist at all.
    const missing = await api.as(keyA, { method: 'GET', url: `${base}/no-such-account` });
    assert.equal(missing.statusCode, 404);
    // And B's account is untouched.
    const own = await api.as(keyB, { method: 'GET', url: `${base}/${accountB}` });
    assert.equal(own.json().deletedAt, null);
    assert.equal(own.json().webVersionPin, null);
  });

  it('keys are stored only as hashes; an admin issues and revokes them', async () => {
    const issued = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/api-keys',
      payload: { workspaceId: workspaceA, name: 'backend' },
    });
    assert.equal(issued.statusCode, 201);
    const { key, prefix } = issued.json();
    const stored = await pool.any(
      sql.type(z.object({ key_hash: z.string() }))`SELECT key_hash FROM api_keys WHERE key_prefix = ${prefix}`,
    );
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0]?.key_hash, key);
    assert.equal(
      JSON.stringify(await pool.any(sql.unsafe`SELECT * FROM api_keys`)).includes(key),
      false,
      'the key itself is nowhere in the table',
    );
    assert.equal((await api.as(key, { method: 'GET', url: `/v1/workspaces/${workspaceA}/accounts` })).statusCode, 200);
    assert.equal(
      (await api.as(api.adminKey, { method: 'DELETE', url: `/v1/admin/api-keys/${prefix}` })).statusCode,
      204,
    );
    assert.equal((await api.as(key, { method: 'GET', url: `/v1/workspaces/${workspaceA}/accounts` })).statusCode, 401);
  });

  it('limits requests per key with a 429 problem, without touching other keys', async () => {
    const limited = await buildTestApi(pool, client, {
      taskQueue: uniqueId('tq-idle'),
      simulator: false,
      rateLimitPerMinute: 5,
    });
    try {
      const url = `/v1/workspaces/${workspaceA}/accounts`;
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await limited.as(keyA, { method: 'GET', url })).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      const throttled = await limited.as(keyA, { method: 'GET', url });
      assert.equal(throttled.json().code, 'rate_limited');
      assert.match(String(throttled.headers['content-type']), /problem\+json/);
      assert.equal(
        (await limited.as(keyB, { method: 'GET', url: `/v1/workspaces/${workspaceB}/accounts` })).statusCode,
        200,
        'another key is not limited',
      );
    } finally {
      await limited.app.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPERATOR_SESSION_COOKIE } from '../../api/plugins/auth.js';
import { legacyKeylessAccessFromEnv, legacyKeylessRefusal } from '../../api/legacy-keyless-access.js';
import { createApiKey } from '../../db/workspaces.js';
import { useTestApi } from '../helpers/api.js';
import { openPool, uniqueId } from '../helpers/context.js';

const METRICS_TOKEN = 'metrics-token-for-the-hardening-tests';
const LEGACY_WORKSPACE = 'ws-legacy-hardening';

describe('HTTP hardening', () => {
  const api = useTestApi({
    failedAuthenticationsPerMinute: 5,
    rateLimitPerMinute: 5,
    accountCreationsPerMinute: 1,
    metricsToken: METRICS_TOKEN,
    legacyKeyless: legacyKeylessAccessFromEnv(true, LEGACY_WORKSPACE),
    // Never reached: a browser without a session is sent to the login page first.
    temporalUiUrl: 'http://127.0.0.1:9',
  });

  it('an anonymous body to the codec endpoint is refused before it is parsed, and anonymous requests are counted', async () => {
    const codec = (payload: string, remoteAddress: string) =>
      api.app.inject({
        method: 'POST',
        url: '/v1/admin/temporal-codec/decode',
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload,
      });
    const startedAt = Date.now();
    const large = await codec(`{"payloads":[${'{"data":"AAAA"},'.repeat(520_000)}{}]}`, '127.0.0.21');
    assert.equal(large.statusCode, 401, large.body.slice(0, 200));
    assert.ok(Date.now() - startedAt < 2_000, `8 MiB refused in ${Date.now() - startedAt} ms`);
    const malformed = await codec('{"payloads": [not json', '127.0.0.21');
    assert.equal(malformed.statusCode, 401, 'invalid JSON is never read: 401, not 400');
    assert.equal(malformed.json().code, 'unauthenticated');

    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) statuses.push((await codec('{}', '127.0.0.22')).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const refused = await codec('{}', '127.0.0.22');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const admin = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/temporal-codec/decode',
      remoteAddress: '127.0.0.22',
      payload: { payloads: [] },
    });
    assert.equal(admin.statusCode, 200, 'an admin key from that address still decodes');
    const browser = await api.app.inject({
      url: '/temporal/',
      remoteAddress: '127.0.0.23',
      headers: { accept: 'text/html' },
    });
    assert.equal(browser.statusCode, 303, 'a browser without a session is still sent to the login page');
  });

  it('/metrics is read with the scrape token or an admin key, never with a workspace key named like the token', async () => {
    const pool = await openPool();
    try {
      const { key } = await createApiKey(pool, { workspaceId: uniqueId('ws-metrics'), name: 'metrics-scrape' });
      const impostor = await api.as(key, { url: '/metrics' });
      assert.ok([403, 404].includes(impostor.statusCode), `a workspace key: ${impostor.statusCode}`);
    } finally {
      await pool.end();
    }
    assert.equal((await api.as(METRICS_TOKEN, { url: '/metrics' })).statusCode, 200);
    assert.equal((await api.as(api.adminKey, { url: '/metrics' })).statusCode, 200);
  });

  it('every 429 says Too Many Requests and carries Retry-After', async () => {
    const workspaceId = uniqueId('ws-429');
    const key = await api.keyFor(workspaceId);
    let limited;
    for (let attempt = 0; attempt < 6; attempt += 1) {
      limited = await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts` });
    }
    assert.equal(limited?.statusCode, 429);
    assert.equal(limited?.json().code, 'rate_limited');
    assert.equal(limited?.json().title, 'Too Many Requests');
    assert.ok(Number(limited?.headers['retry-after']) > 0);

    const creator = await api.keyFor(workspaceId);
    const create = (session: string) =>
      api.as(creator, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { sessionId: `${workspaceId}-${session}` },
      });
    assert.equal((await create('a')).statusCode, 201);
    const second = await create('b');
    assert.equal(second.statusCode, 429);
    assert.equal(second.json().code, 'account_creation_rate_limited');
    assert.equal(second.json().title, 'Too Many Requests');
    assert.ok(Number(second.headers['retry-after']) > 0, 'account creation: Retry-After');
  });

  it("the logout's clearing cookie keeps the session cookie's attributes", async () => {
    const opened = await api.as(api.adminKey, { method: 'POST', url: '/v1/admin/operator-sessions' });
    const token = /wa_operator_session=([^;]+)/.exec(String(opened.headers['set-cookie']))?.[1] ?? '';
    const loggedOut = await api.app.inject({
      method: 'DELETE',
      url: '/v1/admin/operator-sessions/current',
      headers: { cookie: `${OPERATOR_SESSION_COOKIE}=${token}` },
    });
    assert.equal(loggedOut.statusCode, 204);
    const cleared = [loggedOut.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(OPERATOR_SESSION_COOKIE));
    const attributes = (cleared ?? '').split(';').map((part) => part.trim().toLowerCase());
    for (const attribute of ['path=/', 'httponly', 'samesite=strict']) {
      assert.ok(attributes.includes(attribute), `${attribute} in ${cleared}`);
    }
  });

  it("the dashboard may not be framed (frame-ancestors 'none')", async () => {
    const page = await api.app.inject({ url: '/', remoteAddress: '127.0.0.24' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
  });

  it('key-less legacy access refuses a foreign Host (DNS rebinding from a browser on the API host)', async () => {
    const access = legacyKeylessAccessFromEnv(true, LEGACY_WORKSPACE);
    for (const host of ['localhost', 'localhost:3001', '127.0.0.1:3001', '[::1]:3001', '[::1]']) {
      assert.equal(legacyKeylessRefusal(access, { ip: '127.0.0.1', headers: { host } }), null, host);
    }
    for (const host of ['attacker.example', 'attacker.example:3001', 'localhost.attacker.example', '127.0.0.2']) {
      assert.match(legacyKeylessRefusal(access, { ip: '127.0.0.1', headers: { host } }) ?? '', /Host/, host);
    }
    const status = (host: string) =>
      api.app.inject({
        url: `/api/session/${LEGACY_WORKSPACE}-none/status`,
        remoteAddress: '127.0.0.1',
        headers: { host },
      });
    assert.equal((await status('attacker.example:3001')).statusCode, 401);
    assert.notEqual((await status('localhost:3001')).statusCode, 401);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createWaConnectClient } from '../../clients/typescript/index.js';
import { findFreePort } from '../../infra/ports.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { startTestProxy, type TestProxy } from '../helpers/test-proxies.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface AccountBody {
  sessionId: string;
  detail: string;
  wait: { reason: string | null } | null;
  proxy: { url: string; scheme: string; host: string; port: number; authenticated: boolean } | null;
}

const LOGIN = { username: 'shop-7', password: 'pr0xy-S3cret-7f2a' };

describe('a proxy per account, and a workspace default', { timeout: 180_000 }, () => {
  // The worker may dial 127.0.0.1, where the tests' proxies are, and no other address: `localhost` names one it
  // must refuse when it resolves it.
  const stack = useSimulatedWorkerStack({ ...FAST_SIMULATOR_ENV, PROXY_ALLOWED_HOSTS: '127.0.0.1' });
  let api: TestApi;
  let apiPool: DatabasePool;
  let baseUrl: string;
  let socksWithLogin: TestProxy;
  let recording: TestProxy;
  let refusingUrl: string;

  before(async () => {
    apiPool = await apiRolePool(stack.accounts.taskQueue);
    api = await buildTestApi(apiPool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    socksWithLogin = await startTestProxy('socks5', LOGIN);
    recording = await startTestProxy('http');
    // A loopback port nobody listens on: a proxy that refuses every connection.
    refusingUrl = `http://127.0.0.1:${await findFreePort()}`;
  });
  after(async () => {
    await api?.app.close();
    await apiPool?.end();
    await socksWithLogin?.close();
    await recording?.close();
  });

  const accountOf = async (key: string, workspaceId: string, sessionId: string) => {
    const read = await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
    assert.equal(read.statusCode, 200, read.body);
    return read.json<AccountBody>();
  };

  it('goes out through the proxy given on create, with its login; the account shows where, never the login, and stores it sealed', async () => {
    const workspaceId = uniqueId('ws-proxy');
    const key = await api.keyFor(workspaceId);
    const client = createWaConnectClient(baseUrl, key);
    const tunnelsBefore = socksWithLogin.tunnels.length;
    const created = await client.POST('/v1/workspaces/{workspaceId}/accounts', {
      params: { path: { workspaceId } },
      body: { proxy: { url: socksWithLogin.url, ...LOGIN } },
    });
    assert.equal(created.response.status, 201);
    const sessionId = created.data?.sessionId ?? '';
    assert.deepEqual(created.data?.proxy, {
      url: socksWithLogin.url,
      scheme: 'socks5',
      host: '127.0.0.1',
      port: socksWithLogin.port,
      authenticated: true,
    });
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    assert.deepEqual(
      socksWithLogin.tunnels.slice(tunnelsBefore).map(({ target, authorized }) => ({ target, authorized })),
      [{ target: 'web.whatsapp.com:443', authorized: true }],
      'its session started through the proxy, logged in',
    );

    const read = await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
    assert.doesNotMatch(read.body, new RegExp(`${LOGIN.password}|${LOGIN.username}`));
    const stored = await stack.pool.oneFirst(sql.type(z.object({ proxy_credentials: z.string() }))`
      SELECT proxy_credentials FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
    `);
    assert.match(stored, /^sealed1:/);
    assert.ok(!stored.includes(LOGIN.password) && !Buffer.from(stored).toString('base64').includes(LOGIN.password));
    const audit = await api.as(key, { url: `/v1/workspaces/${workspaceId}/audit` });
    assert.doesNotMatch(audit.body, new RegExp(`${LOGIN.password}|${LOGIN.username}`), 'the audit names no login');
  });

  it('a proxy that refuses, or rejects the login, is named in the detail, the wait and the metrics, never as WhatsApp; a PUT and a restart apply a good one', async () => {
    const workspaceId = uniqueId('ws-proxy');
    const key = await api.keyFor(workspaceId);
    const refused = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { proxy: { url: refusingUrl } },
    });
    assert.equal(refused.statusCode, 201, refused.body);
    const refusedId = refused.json<AccountBody>().sessionId;
    const unreachable = await eventually(async () => {
      const account = await accountOf(key, workspaceId, refusedId);
      return account.wait?.reason?.startsWith('proxy_unreachable') ? account : undefined;
    }, 30_000);
    assert.match(unreachable.detail, /its proxy could not be reached: ECONNREFUSED/);
    assert.doesNotMatch(unreachable.detail, /WhatsApp Web unreachable/);

    const wrongLogin = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { proxy: { url: socksWithLogin.url, username: LOGIN.username, password: 'not-the-password' } },
    });
    const wrongId = wrongLogin.json<AccountBody>().sessionId;
    const rejected = await eventually(async () => {
      const account = await accountOf(key, workspaceId, wrongId);
      return account.wait?.reason?.startsWith('proxy_auth_failed') ? account : undefined;
    }, 30_000);
    assert.match(rejected.detail, /its proxy refused the credentials/);

    const metrics = await api.as(api.adminKey, { url: '/metrics' });
    for (const reason of ['proxy_unreachable', 'proxy_auth_failed'])
      assert.match(metrics.body, new RegExp(`wa_proxy_failures_total\\{reason="${reason}"\\} [1-9]`));

    const fixed = await api.as(key, {
      method: 'PUT',
      url: `/v1/workspaces/${workspaceId}/accounts/${wrongId}/proxy`,
      payload: { url: socksWithLogin.url, ...LOGIN },
    });
    assert.equal(fixed.statusCode, 200, fixed.body);
    assert.equal(fixed.json<AccountBody>().proxy?.authenticated, true);
    const restart = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts/${wrongId}/restart`,
    });
    assert.equal(restart.statusCode, 202, restart.body);
    await stack.accounts.showingQr(wrongId);
  });

  it('a proxy whose name resolves to an address the service may not dial is refused undialed, and says so', async () => {
    const workspaceId = uniqueId('ws-proxy');
    const key = await api.keyFor(workspaceId);
    const before = recording.tunnels.length;
    const created = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { proxy: { url: `http://localhost:${recording.port}` } },
    });
    assert.equal(created.statusCode, 201, created.body);
    const sessionId = created.json<AccountBody>().sessionId;
    const refused = await eventually(async () => {
      const account = await accountOf(key, workspaceId, sessionId);
      return account.wait?.reason?.startsWith('proxy_not_allowed') ? account : undefined;
    }, 30_000);
    assert.match(refused.detail, /its proxy is at an address the service may not dial: localhost resolves to/);
    assert.equal(recording.tunnels.length, before, 'the proxy was never dialed');
  });

  it("a workspace's default proxy carries the accounts that set none; an account's own wins", async () => {
    const workspaceId = uniqueId('ws-proxy');
    const key = await api.keyFor(workspaceId);
    const client = createWaConnectClient(baseUrl, key);
    const set = await client.PUT('/v1/workspaces/{workspaceId}/proxy', {
      params: { path: { workspaceId } },
      body: { url: recording.url },
    });
    assert.equal(set.response.status, 200);
    assert.deepEqual(set.data?.proxy, {
      url: recording.url,
      scheme: 'http',
      host: '127.0.0.1',
      port: recording.port,
      authenticated: false,
    });
    const before = recording.tunnels.length;
    const created = await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} });
    const sessionId = created.json<AccountBody>().sessionId;
    assert.equal(created.json<AccountBody>().proxy, null, 'none of its own');
    await stack.accounts.showingQr(sessionId);
    assert.deepEqual(
      recording.tunnels.slice(before).map(({ target }) => target),
      ['web.whatsapp.com:443'],
      "through the workspace's proxy",
    );

    const socksBefore = socksWithLogin.tunnels.length;
    const own = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { proxy: { url: socksWithLogin.url, ...LOGIN } },
    });
    await stack.accounts.showingQr(own.json<AccountBody>().sessionId);
    assert.equal(recording.tunnels.length, before + 1, 'not through the default');
    assert.equal(socksWithLogin.tunnels.length, socksBefore + 1, 'through its own');
  });

  it('bad input gets problem details and changes nothing; another workspace gets 404', async () => {
    const workspaceId = uniqueId('ws-proxy');
    const key = await api.keyFor(workspaceId);
    const created = await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} });
    const sessionId = created.json<AccountBody>().sessionId;
    const put = (payload: object, as = key) =>
      api.as(as, { method: 'PUT', url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/proxy`, payload });
    const cases: Array<[object, string]> = [
      [{ url: 'ftp://127.0.0.1:21' }, 'proxy_scheme_unsupported'],
      [{ url: `http://${LOGIN.username}:${LOGIN.password}@127.0.0.1:3128` }, 'proxy_credentials_in_url'],
      [{ url: 'http://127.0.0.1:3128', username: LOGIN.username }, 'proxy_credentials_incomplete'],
      [{ url: 'http://127.0.0.1:3128/path' }, 'proxy_url_invalid'],
      [{ url: 'not a url' }, 'proxy_url_invalid'],
      [{ url: null, password: 'x' }, 'proxy_credentials_without_proxy'],
      [{ url: 'http://10.0.0.7:3128' }, 'proxy_address_not_allowed'],
      [{ url: 'socks5://169.254.169.254:80' }, 'proxy_address_not_allowed'],
    ];
    for (const [payload, code] of cases) {
      const answer = await put(payload);
      assert.equal(answer.statusCode, 400, `${JSON.stringify(payload)}: ${answer.body}`);
      assert.equal(answer.json<{ code: string }>().code, code);
      assert.doesNotMatch(answer.body, new RegExp(LOGIN.password));
    }
    const badCreate = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId: uniqueId('never'), proxy: { url: 'gopher://127.0.0.1:70' } },
    });
    assert.equal(badCreate.json<{ code: string }>().code, 'proxy_scheme_unsupported');
    assert.equal((await accountOf(key, workspaceId, sessionId)).proxy, null, 'nothing changed');

    const foreignKey = await api.keyFor(uniqueId('ws-other'));
    const foreign = await put({ url: recording.url }, foreignKey);
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json<{ code: string }>().code, 'account_not_found');
    const foreignDefault = await api.as(foreignKey, { url: `/v1/workspaces/${workspaceId}/proxy` });
    assert.equal(foreignDefault.statusCode, 404);
  });
});

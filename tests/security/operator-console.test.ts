import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { OPERATOR_SESSION_COOKIE } from '../../api/plugins/auth.js';
import { revokeApiKey } from '../../db/workspaces.js';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { testStackEnv, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

/** The session cookie a response set: its value and attributes, lower-cased. */
function sessionCookie(setCookie: string | string[] | undefined): { value: string; attributes: string[] } {
  const line = [setCookie ?? []].flat().find((header) => header.startsWith(`${OPERATOR_SESSION_COOKIE}=`)) ?? '';
  const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
  return { value: pair.slice(OPERATOR_SESSION_COOKIE.length + 1), attributes: attributes.map((a) => a.toLowerCase()) };
}

/**
 * Temporal's Web UI has no login of its own and shows every account's workflow: the API is its only door, behind an
 * admin login, and the UI decodes payloads through the API's codec from that logged-in browser.
 */
describe('the Temporal Web UI behind the operator login', { timeout: 180_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  /** A stand-in for the UI server that records what reaches it. */
  let upstream: Server;
  const upstreamSaw: IncomingHttpHeaders[] = [];

  before(async () => {
    upstream = createServer((request, response) => {
      upstreamSaw.push(request.headers);
      response.setHeader('content-type', 'text/html').end(`<p>UI at ${request.url}</p>`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    api = await buildTestApi(stack.pool, stack.client, {
      taskQueue: uniqueId('tq-console'),
      simulator: false,
      temporalUiUrl: `http://127.0.0.1:${port}`,
    });
  });
  after(async () => {
    await api?.app.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('sends a browser without a session to the login page, answers a program 401 and a workspace key 404', async () => {
    const browserVisit = await api.app.inject({
      url: '/temporal/namespaces/default/workflows',
      headers: { accept: 'text/html,application/xhtml+xml' },
    });
    assert.equal(browserVisit.statusCode, 303);
    assert.equal(
      browserVisit.headers.location,
      `/operator/login?next=${encodeURIComponent('/temporal/namespaces/default/workflows')}`,
    );
    const program = await api.app.inject({ url: '/temporal/api/v1/namespaces' });
    assert.equal(program.statusCode, 401);
    assert.equal(program.json().code, 'unauthenticated');
    const forged = await api.app.inject({
      url: '/temporal/api/v1/namespaces',
      headers: { cookie: `${OPERATOR_SESSION_COOKIE}=${'A'.repeat(43)}` },
    });
    assert.equal(forged.statusCode, 401, 'an unknown session token opens nothing');
    const workspaceKey = await api.keyFor(uniqueId('ws-console'));
    const tenant = await api.as(workspaceKey, { url: '/temporal/api/v1/namespaces' });
    assert.equal(tenant.statusCode, 404);
    const tenantLogin = await api.as(workspaceKey, { method: 'POST', url: '/v1/admin/operator-sessions' });
    assert.equal(tenantLogin.statusCode, 404, 'a workspace key opens no operator session');
    assert.equal(tenantLogin.headers['set-cookie'], undefined);
    assert.equal(upstreamSaw.length, 0, 'none of these reached the UI server');
    const documented = Object.keys((await api.app.inject({ url: '/docs/json' })).json<{ paths: object }>().paths);
    assert.ok(documented.includes('/v1/admin/operator-sessions'));
    assert.deepEqual(
      documented.filter((path) => path.startsWith('/temporal')),
      [],
      "the UI's proxied routes are not the API's",
    );
  });

  it('trades an admin key for an HttpOnly, SameSite=Strict session the UI server never sees; logout and revocation end it', async () => {
    const opened = await api.as(api.adminKey, { method: 'POST', url: '/v1/admin/operator-sessions' });
    assert.equal(opened.statusCode, 201);
    const cookie = sessionCookie(opened.headers['set-cookie']);
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!cookie.value.includes(api.adminKey.slice(0, 16)), 'the cookie is not the key');
    for (const attribute of ['httponly', 'samesite=strict', 'path=/']) assert.ok(cookie.attributes.includes(attribute));
    const withSession = { cookie: `theme=dark; ${OPERATOR_SESSION_COOKIE}=${cookie.value}` };

    const proxied = await api.app.inject({ url: '/temporal/api/v1/settings', headers: withSession });
    assert.equal(proxied.statusCode, 200);
    assert.equal(proxied.body, '<p>UI at /temporal/api/v1/settings</p>');
    const seen = upstreamSaw.at(-1);
    assert.equal(seen?.cookie, 'theme=dark', "the UI server gets the UI's own cookies, not the operator's session");
    const withKey = await api.as(api.adminKey, { url: '/temporal/api/v1/settings' });
    assert.equal(withKey.statusCode, 200, 'an admin key in the header opens it too (SSO proxies, scripts)');
    assert.equal(upstreamSaw.at(-1)?.authorization, undefined, 'and the key stays with the API');

    const loggedOut = await api.app.inject({
      method: 'DELETE',
      url: '/v1/admin/operator-sessions/current',
      headers: withSession,
    });
    assert.equal(loggedOut.statusCode, 204);
    const afterLogout = await api.app.inject({ url: '/temporal/api/v1/settings', headers: withSession });
    assert.equal(afterLogout.statusCode, 401, 'a closed session opens nothing');

    const created = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/api-keys',
      payload: { workspaceId: null, name: 'operator to revoke' },
    });
    const { key, prefix } = created.json<{ key: string; prefix: string }>();
    const second = sessionCookie(
      (await api.as(key, { method: 'POST', url: '/v1/admin/operator-sessions' })).headers['set-cookie'],
    );
    const secondSession = { cookie: `${OPERATOR_SESSION_COOKIE}=${second.value}` };
    assert.equal((await api.app.inject({ url: '/temporal/', headers: secondSession })).statusCode, 200);
    assert.ok(await revokeApiKey(stack.pool, prefix));
    assert.equal(
      (await api.app.inject({ url: '/temporal/', headers: secondSession })).statusCode,
      401,
      "a revoked key's sessions end with it",
    );
  });

  it("in Chromium, an operator signs in, opens an account's workflow in the real Temporal UI, and it decodes through the API's codec", async (context) => {
    const uiUrl = process.env.TEST_TEMPORAL_UI_URL;
    if (!uiUrl) return context.skip('npm test starts a Temporal Web UI; this run has none');
    const consoleApi = await buildTestApi(stack.pool, stack.client, {
      taskQueue: uniqueId('tq-console-ui'),
      simulator: false,
      temporalUiUrl: uiUrl,
    });
    const baseUrl = await consoleApi.app.listen({ host: '127.0.0.1', port: 0 });
    const browser: Browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
    try {
      const { sessionId, handle } = await stack.accounts.create();
      await stack.accounts.showingQr(sessionId);
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone, pushName: 'Toko Konsol' });
      await stack.accounts.rowWithStatus(sessionId, 'connected');

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const workflowPath = `/temporal/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`;
      await page.goto(`${baseUrl}${workflowPath}`);
      assert.equal(new URL(page.url()).pathname, '/operator/login', 'without a session: the login page');
      await page.getByLabel('Admin key').fill(consoleApi.adminKey);
      const decodedTexts: string[] = [];
      page.on('response', (response) => {
        if (!response.url().endsWith('/v1/admin/temporal-codec/decode') || response.status() !== 200) return;
        void response
          .json()
          .then((body: { payloads: { data?: string }[] }) => {
            for (const payload of body.payloads)
              decodedTexts.push(Buffer.from(payload.data ?? '', 'base64').toString());
          })
          .catch(() => undefined);
      });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${baseUrl}${workflowPath}**`);
      await page.getByText(handle.workflowId).first().waitFor({ timeout: 30_000 });
      // The workflow's input, decoded for the operator's screen: ciphertext in Temporal, plain JSON from the codec.
      const decodedInput = () =>
        decodedTexts.some((text) => text.includes(`"sessionId":"${sessionId}"`) && text.includes('"workspaceId":"'));
      for (let waited = 0; waited < 30_000 && !decodedInput(); waited += 250) await page.waitForTimeout(250);
      assert.ok(decodedInput(), "the UI decoded the workflow's input through the API's codec");
      await page.screenshot({ path: join(testStackEnv().outputDir, 'temporal-ui-behind-operator-login.png') });
      const cookies = await page.context().cookies();
      const session = cookies.find((c) => c.name === OPERATOR_SESSION_COOKIE);
      assert.equal(session?.httpOnly, true);
      assert.equal(
        String(await page.evaluate('document.cookie')).includes(OPERATOR_SESSION_COOKIE),
        false,
        "the UI's scripts cannot read the session",
      );
    } finally {
      await browser.close();
      await consoleApi.app.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import type { DatabasePool } from 'slonik';
import type { ChildHandle } from '../../lib/child-process.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { launchTestBrowser } from '../helpers/browser.js';
import { openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

describe("a customer's onboarding link in headless Chromium", { timeout: 180_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: ChildHandle;
  let api: TestApi;
  let baseUrl: string;
  let browser: Browser;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    const started = await startTestWorker(FAST_SIMULATOR_ENV);
    worker = started.worker;
    api = await buildTestApi(pool, client, { taskQueue: started.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await api?.app.close();
    await worker?.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
  });

  /** What the workspace does: an account, a display name, a link; the customer gets only the link. */
  const linkForNewAccount = async (workspaceId: string, key: string) => {
    const created = await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} });
    const sessionId = created.json<{ sessionId: string }>().sessionId;
    // Over HTTP: the link names the address the request came to.
    const link = await fetch(`${baseUrl}/v1/workspaces/${workspaceId}/accounts/${sessionId}/onboarding-link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ expiresInMinutes: 15 }),
    });
    assert.equal(link.status, 201);
    return { sessionId, url: ((await link.json()) as { url: string }).url };
  };
  /** The phone's side, played through the simulator (the customer's phone, not the page). */
  const phone = (key: string, sessionId: string, action: string, body: unknown) =>
    fetch(`${baseUrl}/v1/simulator/sessions/${sessionId}/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('a person with only the link sees the QR under the workspace name, connects, and the link is dead afterwards; nothing else is reachable with it', async () => {
    const workspaceId = uniqueId('ws-onb-page');
    const key = await api.keyFor(workspaceId);
    await api.as(key, {
      method: 'PUT',
      url: `/v1/workspaces/${workspaceId}/onboarding`,
      payload: { displayName: 'Acme Bakery' },
    });
    const mine = await linkForNewAccount(workspaceId, key);
    const neighbour = await linkForNewAccount(workspaceId, key);

    // A fresh browser context: no key, no cookie, nothing but the URL.
    const context = await browser.newContext();
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(mine.url);
    await page.waitForSelector('#qr[src^="data:image/png"]', { timeout: 20_000 });
    assert.equal((await page.textContent('h1'))?.trim(), 'Link your WhatsApp to Acme Bakery');
    assert.match((await page.textContent('#detail')) ?? '', /Linked devices/);

    // With the link's page open, the API stays shut: no key, nothing of the workspace or of the other account.
    const fromPage = await page.evaluate(
      async ({ workspaceId, other }) => {
        const statuses: number[] = [];
        for (const path of [
          `/v1/workspaces/${workspaceId}/accounts`,
          `/v1/workspaces/${workspaceId}/accounts/${other}`,
          `/v1/workspaces/${workspaceId}/accounts/${other}/qr`,
          `/v1/stream?workspaceId=${workspaceId}`,
        ])
          statuses.push((await fetch(path)).status);
        return statuses;
      },
      { workspaceId, other: neighbour.sessionId },
    );
    assert.deepEqual(fromPage, [401, 401, 401, 401]);
    const pageText = await page.content();
    assert.ok(!pageText.includes(neighbour.sessionId) && !pageText.includes(workspaceId), 'no ids on the page');

    const linkedPhone = randomPhone();
    assert.equal((await phone(key, mine.sessionId, 'scan', { phone: linkedPhone })).status, 200);
    await page.waitForSelector('[data-testid=linked]:not([hidden])', { timeout: 20_000 });
    assert.equal(
      (await page.textContent('[data-testid=linked]'))?.trim(),
      `Linked: the number ending in ${linkedPhone.slice(-3)}`,
    );
    assert.match((await page.textContent('#detail')) ?? '', /linked/i);
    assert.ok(await page.locator('#qr').isHidden(), 'the QR is gone');

    // Opened again: spent.
    const again = await context.newPage();
    await again.goto(mine.url);
    await again.waitForSelector('#detail:has-text("has been used")', { timeout: 20_000 });
    assert.ok(await again.locator('#qr').isHidden());

    // Every request the pages made went to the service itself.
    const origins = new Set(requested.map((url) => new URL(url).origin).filter((origin) => origin !== 'null'));
    assert.deepEqual(
      [...origins].filter((origin) => !origin.startsWith('data:')),
      [baseUrl],
    );
    assert.deepEqual(
      consoleErrors.filter((text) => !/401/.test(text)),
      [],
    );
    await context.close();
  });

  it('a person without a camera asks for a pairing code on the page and connects with it', async () => {
    const workspaceId = uniqueId('ws-onb-code');
    const key = await api.keyFor(workspaceId);
    const mine = await linkForNewAccount(workspaceId, key);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(mine.url);
    await page.waitForSelector('#qr[src^="data:image/png"]', { timeout: 20_000 });
    assert.equal((await page.textContent('h1'))?.trim(), 'Link your WhatsApp', 'no display name set: none shown');
    const number = randomPhone();
    await page.getByLabel(/Phone number/).fill(number);
    await page.getByRole('button', { name: 'Get a code' }).click();
    await page.waitForSelector('[data-testid=pairing-code]:not([hidden])', { timeout: 20_000 });
    const code = (await page.textContent('[data-testid=pairing-code]'))?.trim() ?? '';
    assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    assert.equal((await phone(key, mine.sessionId, 'enter-code', { code })).status, 200);
    await page.waitForSelector('[data-testid=linked]:not([hidden])', { timeout: 20_000 });
    assert.match((await page.textContent('[data-testid=linked]')) ?? '', new RegExp(`${number.slice(-3)}$`));
    await context.close();
  });
});

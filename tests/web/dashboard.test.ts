import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import type { DatabasePool } from 'slonik';
import type { ChildHandle } from '../../lib/child-process.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { launchTestBrowser } from '../helpers/browser.js';
import { eventually, openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

/** Presses a control from the keyboard, as a person without a mouse would. */
async function press(page: Page, name: string | RegExp, role: 'button' | 'radio' = 'button') {
  const control = page.getByRole(role, { name, exact: typeof name === 'string' });
  await control.focus();
  await page.keyboard.press(role === 'radio' ? 'Space' : 'Enter');
}

describe('the workspace dashboard in headless Chromium', { timeout: 240_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: ChildHandle;
  let api: TestApi;
  let baseUrl: string;
  let browser: Browser;
  let receiver: Server;
  let receiverUrl: string;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    const started = await startTestWorker(FAST_SIMULATOR_ENV);
    worker = started.worker;
    api = await buildTestApi(pool, client, { taskQueue: started.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    // A backend's webhook endpoint on loopback that takes every delivery.
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/webhooks/whatsapp`;
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await api?.app.close();
    receiver?.close();
    await worker?.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
  });

  it("every action by keyboard: add by QR and by pairing code, live status and detail, make primary, webhook URL as an endpoint and its deliveries, restart with the focus kept through live updates, log out, delete with the focus on the accounts' heading", async () => {
    const workspaceId = uniqueId('ws-dash');
    const key = await api.keyFor(workspaceId);
    const simulate = (path: string, body: unknown) =>
      fetch(`${baseUrl}/v1/simulator/sessions/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    let navigations = 0;
    await page.goto(`${baseUrl}/`);
    page.on('framenavigated', () => {
      navigations += 1;
    });
    const shot = async (name: string) => {
      await mkdir(testStackEnv().outputDir, { recursive: true });
      await page.screenshot({ path: join(testStackEnv().outputDir, `dashboard-${name}.png`), fullPage: true });
    };
    const row = (sessionId: string) => page.locator(`tr[data-session="${sessionId}"]`);
    const rowShows = (sessionId: string, text: RegExp) =>
      eventually(
        async () => (text.test((await row(sessionId).textContent()) ?? '') ? true : undefined),
        30_000,
        `${sessionId}: ${text}`,
      );

    // Every field is labelled: the form is filled by its labels, as a screen reader announces them.
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByLabel('Workspace', { exact: true }).fill(workspaceId);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#connection:has-text("Live")');

    // 1. By QR: the QR, then connected with the phone, live.
    await press(page, 'Add account');
    await page.waitForSelector('#qr[src^="data:image/png"]', { timeout: 20_000 });
    const byQr = (await page.textContent('#link-session'))?.trim() ?? '';
    await eventually(async () =>
      (await page.textContent('#link-detail')) === 'waiting for the QR code to be scanned' ? true : undefined,
    );
    await shot('qr');
    const firstPhone = randomPhone();
    assert.equal((await simulate(`${byQr}/scan`, { phone: firstPhone })).status, 200);
    await page.waitForSelector(`[data-testid=link-phone]:has-text("${firstPhone}")`, { timeout: 20_000 });
    await rowShows(byQr, /connected.*connected.*★ primary/);

    // 2. By pairing code, for a phone number typed in.
    await press(page, /pairing code/, 'radio');
    const secondPhone = randomPhone();
    await page.getByLabel(/Phone number/).fill(secondPhone);
    await press(page, 'Add account');
    const code = await eventually(
      async () => {
        const text = (await page.textContent('[data-testid=pairing-code]'))?.trim() ?? '';
        return /^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(text) ? text : undefined;
      },
      30_000,
      'the pairing code on the page',
    );
    const byCode = (await page.textContent('#link-session'))?.trim() ?? '';
    assert.match((await page.textContent('#link-detail')) ?? '', /pairing code to be entered/);
    await shot('pairing-code');
    assert.equal(await simulate(`${byCode}/enter-code`, { code }).then((r) => r.status), 200);
    await rowShows(byCode, new RegExp(`connected.*connected.*${secondPhone}`));

    // 3. Make the second the primary account.
    await press(page, `Make primary: ${byCode}`);
    await rowShows(byCode, /★ primary/);
    await rowShows(byQr, /^(?!.*★ primary)/);

    // 4. The webhook URL, then a restart whose events are delivered there and listed.
    await page.getByLabel(/Webhook URL/).fill(receiverUrl);
    await press(page, 'Save webhook URL');
    await page.waitForSelector(`#webhook-status:has-text("${receiverUrl}")`);
    // The URL is one of the workspace's endpoints, listed with the others.
    const endpoint = page.getByRole('table', { name: 'Endpoints' }).getByRole('row', { name: new RegExp(receiverUrl) });
    assert.match((await endpoint.textContent()) ?? '', /all \(the URL above\)\s*enabled/);
    await press(page, `Deliveries: ${byQr}`);
    await page.waitForSelector('#deliveries-of:has-text("of")');
    assert.equal(await page.locator('#deliveries tr').count(), 0, 'nothing was sent before the URL was set');
    // The row is marked once its Restart button has the focus: only a redraw after that removes the mark, and the
    // restart's updates redraw it.
    await page.getByRole('button', { name: `Restart: ${byQr}`, exact: true }).focus();
    await row(byQr).evaluate((drawn) => drawn.setAttribute('data-drawn-before', 'restart'));
    await page.keyboard.press('Enter');
    // The restart's two status changes (disconnected, then connected again), delivered and listed as they happen.
    await eventually(
      async () => ((await page.locator('#deliveries tr', { hasText: /delivered/ }).count()) >= 2 ? true : undefined),
      30_000,
      "the restart's deliveries in the list",
    );
    assert.match((await page.textContent('#deliveries')) ?? '', /delivered\s*200/);
    await eventually(
      async () => ((await row(byQr).getAttribute('data-drawn-before')) === null ? true : undefined),
      30_000,
      'the row drawn again by the live updates',
    );
    const focused = page.locator(':focus');
    assert.equal(
      (await focused.count()) === 1 ? await focused.getAttribute('aria-label') : 'nothing focused',
      `Restart: ${byQr}`,
      'the keyboard focus stayed on the button pressed while its row was drawn again',
    );
    await shot('deliveries');

    // 5. Log out the second, delete the first.
    await press(page, `Log out: ${byCode}`);
    await rowShows(byCode, /disconnected: logged out/);
    await press(page, `Delete: ${byQr}`);
    await page.waitForSelector(`tr[data-session="${byQr}"]`, { state: 'detached', timeout: 20_000 });
    const focusedAfterDelete = page.locator(':focus');
    assert.equal(
      (await focusedAfterDelete.count()) === 1 ? await focusedAfterDelete.getAttribute('id') : 'nothing focused',
      'accounts-heading',
      "the keyboard focus went to the accounts' heading when the deleted account's row went away",
    );
    await shot('after-actions');

    // 6. Every change made here is in the workspace's audit, by this key.
    const audit = page.getByRole('table', { name: 'Audit' });
    for (const [action, account] of [
      ['DELETE /accounts/:sessionId', byQr],
      ['POST /accounts/:sessionId/logout', byCode],
      ['POST /accounts/:sessionId/restart', byQr],
    ] as const) {
      await audit.getByRole('row', { name: new RegExp(`${action.replaceAll('/', '\\/')} ${account} done`) }).waitFor();
    }
    assert.match((await audit.textContent()) ?? '', new RegExp(`test ${workspaceId}`), 'by whom: the key');

    assert.equal(navigations, 0, 'everything happened without a reload');
    assert.deepEqual(consoleErrors, []);
  });

  it("an admin key also sees the hosts and an account's page on request: the worker with its sessions against its seats; a workspace key sees neither", async () => {
    const adminWorkspaceId = uniqueId('ws-dash-admin');
    const sessionId = uniqueId('looked-at');
    const created = await api.as(api.adminKey, {
      method: 'POST',
      url: `/v1/workspaces/${adminWorkspaceId}/accounts`,
      payload: { sessionId },
    });
    assert.equal(created.statusCode, 201, created.body);
    await eventually(async () => {
      const qr = await api.as(api.adminKey, { url: `/v1/workspaces/${adminWorkspaceId}/accounts/${sessionId}/qr` });
      return qr.statusCode === 200 ? true : undefined;
    }, 30_000);
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('API key', { exact: true }).fill(api.adminKey);
    await page.getByLabel('Workspace', { exact: true }).fill(adminWorkspaceId);
    await page.keyboard.press('Enter');
    await press(page, `Screenshot: ${sessionId}`);
    const shot = page.getByRole('img', { name: `The WhatsApp Web page of ${sessionId}` });
    await shot.waitFor();
    assert.ok(
      await shot.evaluate((image) => {
        const shown = image as unknown as { decode(): Promise<void>; naturalWidth: number };
        return shown.decode().then(() => shown.naturalWidth > 0);
      }),
      'the page image shows',
    );
    await press(page, 'Close');
    await shot.waitFor({ state: 'detached' });

    const hosts = page.getByRole('table', { name: 'Hosts' });
    await hosts.waitFor();
    const row = hosts.getByRole('row', { name: new RegExp(`pid ${worker.process.pid}\\)`) });
    await row.waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    assert.equal(cells[0], 'running', cells.join(' | '));
    assert.match(cells[1] ?? '', /^\d+ \/ 100000$/, 'sessions against the simulated engine’s seats');

    const workspacePage = await browser.newPage();
    await workspacePage.goto(`${baseUrl}/`);
    const workspaceId = uniqueId('ws-dash-plain');
    await workspacePage.getByLabel('API key', { exact: true }).fill(await api.keyFor(workspaceId));
    await workspacePage.getByLabel('Workspace', { exact: true }).fill(workspaceId);
    await workspacePage.keyboard.press('Enter');
    await workspacePage.getByRole('heading', { name: 'Accounts' }).waitFor();
    await workspacePage.getByText(`Live: workspace ${workspaceId}`).waitFor();
    assert.equal(await workspacePage.getByRole('table', { name: 'Hosts' }).count(), 0, 'no hosts for a workspace key');
    assert.equal(await workspacePage.getByRole('button', { name: /^Screenshot/ }).count(), 0, 'no screenshot either');
  });

  it('shows an error for a wrong key instead of a workspace, announced as an alert', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('API key', { exact: true }).fill('wak_000000000000_nope');
    await page.getByLabel('Workspace', { exact: true }).fill('ws-x');
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /API key/);
  });
});

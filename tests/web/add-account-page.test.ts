import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { chromium, type Browser } from 'playwright-core';
import type { DatabasePool } from 'slonik';
import type { ChildHandle } from '../../infra/child-process.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

describe('the "add account" page in headless Chromium', { timeout: 180_000 }, () => {
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
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  });
  after(async () => {
    await browser?.close();
    await api?.app.close();
    await worker?.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
  });

  it('adds an account, shows the QR, then the phone number live without a reload, and removes it', async () => {
    const workspaceId = uniqueId('ws-page');
    const key = await api.keyFor(workspaceId);
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(`${baseUrl}/`);
    await page.fill('#api-key', key);
    await page.fill('#workspace-id', workspaceId);
    await page.click('button[type=submit]');
    await page.waitForSelector('#connection:has-text("Live")');

    await page.click('#add-account');
    await page.waitForSelector('#qr[src^="data:image/png"]', { timeout: 20_000 });
    const sessionId = (await page.textContent('#link-session'))?.trim() ?? '';
    assert.match(sessionId, /^acc_/);
    let navigations = 0;
    page.on('framenavigated', () => {
      navigations += 1;
    });

    const phone = randomPhone();
    const scanned = await fetch(`${baseUrl}/v1/simulator/sessions/${sessionId}/scan`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ phone }),
    });
    assert.equal(scanned.status, 200);

    await page.waitForSelector(`[data-testid=link-phone]:has-text("${phone}")`, { timeout: 20_000 });
    assert.equal(await page.textContent('[data-testid=link-status]'), 'connected');
    const row = page.locator(`tr[data-session="${sessionId}"]`);
    assert.match((await row.textContent()) ?? '', /connected/);
    assert.match((await row.textContent()) ?? '', /primary/);
    assert.equal(navigations, 0, 'no reload');
    assert.equal(await page.isVisible('#qr'), false, 'the QR is gone once the account is linked');
    await mkdir(testStackEnv().outputDir, { recursive: true });
    await page.screenshot({ path: join(testStackEnv().outputDir, 'add-account-page.png'), fullPage: true });

    await row.locator('button', { hasText: 'Remove' }).click();
    await page.waitForSelector(`tr[data-session="${sessionId}"]`, { state: 'detached', timeout: 20_000 });
    assert.deepEqual(consoleErrors, []);
  });

  it('shows an error for a wrong key instead of a workspace', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/`);
    await page.fill('#api-key', 'wak_000000000000_nope');
    await page.fill('#workspace-id', 'ws-x');
    await page.click('button[type=submit]');
    await page.waitForSelector('#error:not([hidden])');
    assert.match((await page.textContent('#error')) ?? '', /API key/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import WebSocket from 'ws';
import { createWaConnectClient } from '../../clients/typescript/index.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { readOnboardingToken, signOnboardingToken } from '../../lib/onboarding-token.js';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface CreatedLink {
  id: string;
  url: string;
  expiresAt: string;
  createdAt: string;
  state: string;
}

describe('hosted onboarding links', { timeout: 180_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  let apiPool: DatabasePool;
  let baseUrl: string;

  before(async () => {
    apiPool = await apiRolePool(stack.accounts.taskQueue);
    api = await buildTestApi(apiPool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await api?.app.close();
    await apiPool?.end();
  });

  /** A new workspace with one account showing its QR. */
  const accountShowingQr = async () => {
    const workspaceId = uniqueId('ws-onb');
    const key = await api.keyFor(workspaceId);
    const created = await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} });
    const sessionId = created.json<{ sessionId: string }>().sessionId;
    await stack.accounts.showingQr(sessionId);
    return { workspaceId, key, sessionId };
  };
  const createLink = (key: string, workspaceId: string, sessionId: string, payload: object = {}) =>
    api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/onboarding-link`,
      payload,
    });
  const tokenOf = (url: string) => new URL(url).pathname.split('/')[2] ?? '';
  const state = (token: string) => fetch(`${baseUrl}/onboard/${token}/state`);
  /** The link's page following it live, once it has its first state: every message, and the close code. */
  const followPage = async (token: string) => {
    const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/onboard/${token}/stream`);
    const messages: Array<Record<string, unknown>> = [];
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('message', (data) =>
      messages.push(JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>),
    );
    // Followed from its first state on: what the page showed before anything else happened.
    await new Promise((resolve, reject) => socket.once('message', resolve).once('error', reject));
    return { messages, closed };
  };

  it('makes a link good for 30 minutes by default through the generated client, whose page state shows the QR and nothing of the workspace', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const client = createWaConnectClient(baseUrl, key);
    const named = await client.PUT('/v1/workspaces/{workspaceId}/onboarding', {
      params: { path: { workspaceId } },
      body: { displayName: 'Acme Bakery' },
    });
    assert.equal(named.data?.displayName, 'Acme Bakery');
    const made = await client.POST('/v1/workspaces/{workspaceId}/accounts/{sessionId}/onboarding-link', {
      params: { path: { workspaceId, sessionId } },
      body: {},
    });
    assert.equal(made.response.status, 201);
    const link = made.data as CreatedLink;
    assert.equal(new URL(link.url).origin, baseUrl);
    const lifetimeMs = Date.parse(link.expiresAt) - Date.parse(link.createdAt);
    assert.ok(Math.abs(lifetimeMs - 30 * 60_000) < 2_000, `30 minutes (${lifetimeMs} ms)`);

    const answer = await state(tokenOf(link.url));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.equal(answer.headers.get('referrer-policy'), 'no-referrer');
    const shown = (await answer.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(shown).sort(), [
      'detail',
      'expiresAt',
      'linkedPhone',
      'pairingCode',
      'qr',
      'step',
      'type',
      'workspaceName',
    ]);
    assert.equal(shown.workspaceName, 'Acme Bakery');
    assert.equal(shown.step, 'scan_qr');
    assert.match((shown.qr as { dataUrl: string }).dataUrl, /^data:image\/png;base64,/);
    const text = JSON.stringify(shown);
    assert.ok(!text.includes(workspaceId) && !text.includes(sessionId), 'no workspace or account id');

    const listed = await client.GET('/v1/workspaces/{workspaceId}/accounts/{sessionId}/onboarding-links', {
      params: { path: { workspaceId, sessionId } },
    });
    assert.deepEqual(
      listed.data?.items.map((item) => [item.id, item.state, item.openedCount]),
      [[link.id, 'open', 1]],
    );
    assert.ok(!JSON.stringify(listed.data).includes(tokenOf(link.url)), 'the token is shown only once');
  });

  it('ends when the account connects: the open page is told the result, then the link opens no more', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const link = (await createLink(key, workspaceId, sessionId)).json<CreatedLink>();
    const token = tokenOf(link.url);
    const { messages, closed } = await followPage(token);
    const phone = randomPhone();
    await stack.accounts.phone(sessionId, 'scan', { phone });
    assert.equal(await closed, 1000);
    const last = messages.at(-1);
    const result = messages.at(-2);
    assert.equal(messages[0]?.step, 'scan_qr');
    assert.equal(result?.step, 'connected');
    assert.equal(result?.linkedPhone, `…${phone.slice(-3)}`);
    assert.deepEqual([last?.type, last?.reason], ['ended', 'connected']);

    const after = await state(token);
    assert.equal(after.status, 410);
    assert.deepEqual(
      [(await after.json()) as { code: string; reason: string }].map((p) => [p.code, p.reason]),
      [['onboarding_link_ended', 'connected']],
    );
    const again = await createLink(key, workspaceId, sessionId);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json<{ code: string }>().code, 'account_already_connected');
  });

  it('a revoked link stops at once, and its open page is told so', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const link = (await createLink(key, workspaceId, sessionId)).json<CreatedLink>();
    const token = tokenOf(link.url);
    const { messages, closed } = await followPage(token);
    const revoked = await api.as(key, {
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/onboarding-links/${link.id}`,
    });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.deepEqual(
      [revoked.json<{ state: string; endReason: string }>()].map((v) => [v.state, v.endReason]),
      [['ended', 'revoked']],
    );
    assert.equal(await closed, 1000);
    assert.deepEqual([messages.at(-1)?.type, messages.at(-1)?.reason], ['ended', 'revoked']);
    const answer = await state(token);
    assert.equal(answer.status, 410);
    assert.equal(((await answer.json()) as { code: string }).code, 'onboarding_link_ended');
  });

  it("another workspace's key gets 404 for the account's links, as for a missing account", async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const link = (await createLink(key, workspaceId, sessionId)).json<CreatedLink>();
    const stranger = await api.keyFor(uniqueId('ws-onb-other'));
    const base = `/v1/workspaces/${workspaceId}/accounts/${sessionId}`;
    for (const request of [
      { method: 'POST' as const, url: `${base}/onboarding-link`, payload: {} },
      { method: 'GET' as const, url: `${base}/onboarding-links` },
      { method: 'DELETE' as const, url: `${base}/onboarding-links/${link.id}` },
      { method: 'GET' as const, url: `/v1/workspaces/${workspaceId}/onboarding` },
    ]) {
      const answer = await api.as(stranger, request);
      assert.equal(answer.statusCode, 404, `${request.method} ${request.url}`);
    }
    assert.equal((await state(tokenOf(link.url))).status, 200, 'the link itself still works');
  });

  it('refuses bad input with problem details: a lifetime outside 1 minute to a day, a bad display name, a forged or altered token', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    for (const expiresInMinutes of [0, 1441, 1.5]) {
      const answer = await createLink(key, workspaceId, sessionId, { expiresInMinutes });
      assert.equal(answer.statusCode, 400, `${expiresInMinutes}`);
      assert.equal(answer.json<{ code: string }>().code, 'validation_failed');
    }
    for (const displayName of ['', 'x'.repeat(81), 'a\u0007b']) {
      const answer = await api.as(key, {
        method: 'PUT',
        url: `/v1/workspaces/${workspaceId}/onboarding`,
        payload: { displayName },
      });
      assert.equal(answer.statusCode, 400, JSON.stringify(displayName));
    }
    const link = (await createLink(key, workspaceId, sessionId, { expiresInMinutes: 1440 })).json<CreatedLink>();
    const token = tokenOf(link.url);
    const [linkId, expiry, signature, keyId] = token.split('.') as [string, string, string, string];
    const other = (await createLink(key, workspaceId, sessionId)).json<CreatedLink>();
    for (const forged of [
      `${linkId}.${Number(expiry) + 3600}.${signature}.${keyId}`,
      `${other.id}.${expiry}.${signature}.${keyId}`,
      `${linkId}.${expiry}.${'A'.repeat(43)}.${keyId}`,
      `${linkId}.${expiry}.${signature}.unknown-key`,
      'not-a-token',
    ]) {
      const answer = await state(forged);
      assert.equal(answer.status, 404, forged);
      assert.equal(((await answer.json()) as { code: string }).code, 'onboarding_link_not_found');
    }
    assert.equal((await state(token)).status, 200);
  });

  it('a token past its expiry is refused as expired, whatever its signature', () => {
    const keyring = keyringFromEnv(process.env);
    const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    const token = signOnboardingToken(keyring, { linkId: 'A'.repeat(22), expiresAt });
    assert.deepEqual(readOnboardingToken(keyring, token), { ok: true, token: { linkId: 'A'.repeat(22), expiresAt } });
    assert.deepEqual(readOnboardingToken(keyring, token, expiresAt.getTime()), { ok: false, reason: 'expired' });
  });

  it('a pairing code through the link: the visitor types a phone number and gets the code, as the account shows it', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const link = (await createLink(key, workspaceId, sessionId)).json<CreatedLink>();
    const token = tokenOf(link.url);
    const asked = await fetch(`${baseUrl}/onboard/${token}/pairing-code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phoneNumber: randomPhone() }),
    });
    assert.equal(asked.status, 200);
    const { code } = (await asked.json()) as { code: string };
    assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const shown = (await (await state(token)).json()) as { step: string; pairingCode: string; qr: unknown };
    assert.deepEqual([shown.step, shown.pairingCode, shown.qr], ['enter_code', code, null]);
  });

  it('opening is rate-limited per address: a burst of opens gets 429 with Retry-After', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const token = tokenOf((await createLink(key, workspaceId, sessionId)).json<CreatedLink>().url);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const answer = await fetch(`${baseUrl}/onboard/${token}`);
      statuses.push(answer.status);
      if (answer.status === 429) {
        assert.ok(answer.headers.get('retry-after'));
        break;
      }
    }
    assert.equal(statuses.at(-1), 429, `refused within 40 opens (${statuses.length})`);
    assert.ok(statuses.length > 10, 'a person reloading is not refused');
  });
});

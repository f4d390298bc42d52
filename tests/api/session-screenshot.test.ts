import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Payload } from '@temporalio/common';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createWaConnectClient } from '../../clients/typescript/index.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

describe("an admin's screenshot of a session's page", { timeout: 120_000 }, () => {
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

  const screenshot = (key: string, workspaceId: string, sessionId: string) =>
    api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/screenshot` });

  /** A new account of a new workspace, showing its QR: its session runs on the worker's host. */
  const accountShowingQr = async () => {
    const workspaceId = uniqueId('ws-shot');
    const key = await api.keyFor(workspaceId);
    const created = await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} });
    const sessionId = created.json<{ sessionId: string }>().sessionId;
    await stack.accounts.showingQr(sessionId);
    return { workspaceId, key, sessionId };
  };

  it('shows the admin what the page shows now: the login screen, then the chats', async () => {
    const workspaceId = uniqueId('ws-shot');
    const client = createWaConnectClient(baseUrl, await api.keyFor(workspaceId));
    const created = await client.POST('/v1/workspaces/{workspaceId}/accounts', {
      params: { path: { workspaceId } },
      body: {},
    });
    const sessionId = created.data?.sessionId ?? '';
    await stack.accounts.showingQr(sessionId);

    const login = await screenshot(api.adminKey, workspaceId, sessionId);
    assert.equal(login.statusCode, 200, login.body);
    assert.equal(login.headers['content-type'], 'image/svg+xml');
    assert.equal(login.headers['cache-control'], 'no-store');
    assert.match(login.body, /Scan the QR code/);

    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    const chats = await screenshot(api.adminKey, workspaceId, sessionId);
    assert.equal(chats.statusCode, 200, chats.body);
    assert.match(chats.body, />Chats</);
    assert.doesNotMatch(chats.body, /Scan the QR code/);
  });

  it("is the admins' only: the account's own workspace key gets the 404 of a route it lacks, and the audit names who looked", async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();

    const refused = await screenshot(key, workspaceId, sessionId);
    assert.equal(refused.statusCode, 404);
    assert.equal(refused.json<{ code: string }>().code, 'route_not_found');
    assert.equal((await screenshot(api.adminKey, workspaceId, sessionId)).statusCode, 200);

    // An entry is written once its answer has gone out: both are read once both are there.
    const looks = await eventually(
      async () => {
        const audit = await api.as(api.adminKey, { url: `/v1/workspaces/${workspaceId}/audit` });
        const entries = audit
          .json<{ items: { action: string; actor: { keyPrefix: string | null }; statusCode: number }[] }>()
          .items.filter((entry) => entry.action.endsWith('/screenshot'));
        return entries.length >= 2 ? entries : undefined;
      },
      20_000,
      'both looks in the audit',
    );
    const byWhom = looks.map((entry) => [
      entry.actor.keyPrefix !== null && api.adminKey.startsWith(entry.actor.keyPrefix) ? 'admin' : 'workspace key',
      entry.statusCode,
    ]);
    assert.deepEqual(byWhom, [
      ['admin', 200],
      ['workspace key', 404],
    ]);
  });

  it('leaves the image nowhere: not in the database once answered, not in any payload of its workflow, even decrypted', async () => {
    const { workspaceId, sessionId } = await accountShowingQr();
    const shot = await screenshot(api.adminKey, workspaceId, sessionId);
    assert.equal(shot.statusCode, 200, shot.body);
    assert.match(shot.body, /Scan the QR code/);

    const sessionKey = await stack.accounts.key(sessionId);
    const left = await stack.pool.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`SELECT count(*)::int8 AS n FROM session_screenshots WHERE session_key = ${sessionKey}`,
    );
    assert.equal(left, 0, 'the row was taken as it was read');

    const runs = await eventually(async () => {
      const found = [];
      for await (const run of stack.client.workflow.list({
        query: `WorkflowType = 'sessionScreenshot' AND WorkspaceId = '${workspaceId}'`,
      }))
        found.push(run);
      return found.length > 0 ? found : undefined;
    }, 20_000);
    assert.equal(runs.length, 1);
    const history = await stack.client.workflow.getHandle(runs[0]?.workflowId ?? '').fetchHistory();
    const payloads = payloadsIn(history);
    assert.ok(payloads.length >= 2, 'the input and the activity call at least');
    const [codec] = dataConverterFromEnv(process.env).payloadCodecs;
    assert.ok(codec);
    const decoded = await codec.decode(payloads);
    const text = decoded.map((payload) => Buffer.from(payload.data ?? new Uint8Array()).toString('utf8')).join('\n');
    assert.match(text, /readerKey/, 'the payloads were decrypted');
    assert.doesNotMatch(text, /svg|Scan the QR code/);
  });

  it("answers 409 page_not_answering, not a server error, when the session's page hangs", async () => {
    const { workspaceId, sessionId } = await accountShowingQr();
    await stack.accounts.phone(sessionId, 'hang');
    const hung = await screenshot(api.adminKey, workspaceId, sessionId);
    assert.equal(hung.statusCode, 409, hung.body);
    const answer = hung.json<{ code: string; detail: string }>();
    assert.equal(answer.code, 'page_not_answering');
    assert.match(answer.detail, /did not answer within 8 s/);
  });

  it('answers 409 session_not_running for an account whose session has ended', async () => {
    const { workspaceId, key, sessionId } = await accountShowingQr();
    const logout = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/logout`,
    });
    assert.ok(logout.statusCode < 300, logout.body);
    await stack.accounts.rowWhere(sessionId, (row) => row.status !== 'qr_scanning', 'the account ended');
    const ended = await eventually(async () => {
      const answer = await screenshot(api.adminKey, workspaceId, sessionId);
      return answer.statusCode === 409 ? answer : undefined;
    }, 20_000);
    assert.equal(ended.json<{ code: string }>().code, 'session_not_running');
  });
});

/** Every payload anywhere in a history. */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  if ('metadata' in value && 'data' in value && value.data instanceof Uint8Array) {
    found.push(value as Payload);
    return found;
  }
  for (const child of Object.values(value)) payloadsIn(child, found);
  return found;
}

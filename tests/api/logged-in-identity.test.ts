import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { createWaConnectClient } from '../../clients/typescript/index.js';
import { SIMULATED_PROFILE_PICTURE } from '../../engine/simulated/simulated-session.js';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { RecordingReceiver } from '../helpers/recording-receiver.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

describe('who logged in: the WhatsApp id, LID, push name, platform and profile picture', { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  let apiPool: DatabasePool;
  let baseUrl: string;
  let receiver: RecordingReceiver;

  before(async () => {
    apiPool = await apiRolePool(stack.accounts.taskQueue);
    api = await buildTestApi(apiPool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    receiver = await RecordingReceiver.start();
  });
  after(async () => {
    await api?.app.close();
    await apiPool?.end();
    await receiver?.close();
  });

  it('after ready, in the account, its session_ready webhook and a picture the API serves to its workspace only', async () => {
    const workspaceId = uniqueId('ws-me');
    const client = createWaConnectClient(baseUrl, await api.keyFor(workspaceId));
    const endpoint = await client.POST('/v1/workspaces/{workspaceId}/webhook-endpoints', {
      params: { path: { workspaceId } },
      body: { url: receiver.url, eventTypes: ['session_ready'] },
    });
    assert.equal(endpoint.response.status, 201);
    const created = await client.POST('/v1/workspaces/{workspaceId}/accounts', {
      params: { path: { workspaceId } },
      body: {},
    });
    const sessionId = created.data?.sessionId ?? '';
    assert.equal(created.data?.me, null, 'nobody has logged in yet');
    await stack.accounts.showingQr(sessionId);
    const phone = randomPhone();
    await stack.accounts.phone(sessionId, 'scan', {
      phone,
      pushName: 'Toko Maju',
      lid: 'resolvable',
      platform: 'iphone',
      profilePicture: true,
    });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    await stack.accounts.rowWhere(sessionId, (row) => row.profile_picture_at !== null, 'the profile picture kept');

    const read = await client.GET('/v1/workspaces/{workspaceId}/accounts/{sessionId}', {
      params: { path: { workspaceId, sessionId } },
    });
    const me = read.data?.me;
    assert.ok(me);
    assert.equal(me.whatsappId, `${phone}@c.us`);
    assert.match(me.lid ?? '', /^[0-9]+@lid$/);
    assert.equal(me.pushName, 'Toko Maju');
    assert.equal(me.platform, 'iphone');
    assert.equal(me.profilePicture, `/v1/workspaces/${workspaceId}/accounts/${sessionId}/profile-picture`);

    const picture = await fetch(`${baseUrl}${me.profilePicture}`, {
      headers: { authorization: `Bearer ${await api.keyFor(workspaceId)}` },
    });
    assert.equal(picture.status, 200);
    assert.equal(picture.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await picture.arrayBuffer()), SIMULATED_PROFILE_PICTURE);
    const foreign = await api.as(await api.keyFor(uniqueId('ws-other')), { url: me.profilePicture });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json<{ code: string }>().code, 'account_not_found');

    const ready = await eventually(
      async () => receiver.received.find(({ body }) => body.includes(sessionId)),
      30_000,
      'the session_ready webhook',
    );
    const payload = JSON.parse(ready.body) as { event: string; data: Record<string, unknown> };
    assert.equal(payload.event, 'session_ready');
    assert.deepEqual(
      { whatsappId: payload.data.whatsappId, lid: payload.data.lid, platform: payload.data.platform },
      { whatsappId: `${phone}@c.us`, lid: me.lid, platform: 'iphone' },
    );
  });

  it('an account without a picture answers 404 profile_picture_not_found, as does another workspace for a picture it cannot see', async () => {
    const workspaceId = uniqueId('ws-me');
    const key = await api.keyFor(workspaceId);
    const created = await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} });
    const sessionId = created.json<{ sessionId: string }>().sessionId;
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    const connected = await stack.accounts.rowWithStatus(sessionId, 'connected');
    assert.equal(connected.whatsapp_platform, 'android');
    const none = await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/profile-picture` });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json<{ code: string }>().code, 'profile_picture_not_found');
  });
});

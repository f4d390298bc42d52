import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface Outcome {
  applied: boolean;
  result: { linkedDevice?: { os: string; name: string } };
}

describe(
  'the name the phone shows for a linked device: per account, with a workspace default',
  { timeout: 120_000 },
  () => {
    const stack = useSimulatedWorkerStack();
    let api: TestApi;
    before(async () => {
      api = await buildTestApi(stack.pool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    });
    after(async () => api?.app.close());

    /** Creates an account, waits for its QR and scans it: answers what the phone lists the device as. */
    const linkAs = async (key: string, workspaceId: string, body: Record<string, unknown>) => {
      const sessionId = uniqueId('named');
      const created = await api.as(key, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { sessionId, ...body },
      });
      assert.equal(created.statusCode, 201, created.body);
      await stack.accounts.showingQr(sessionId);
      const scanned = await eventually(async () => {
        const answer = await api.as(key, {
          method: 'POST',
          url: `/v1/simulator/sessions/${sessionId}/scan?workspaceId=${workspaceId}`,
          payload: { phone: randomPhone() },
        });
        return answer.statusCode === 200 ? answer.json<Outcome>() : undefined;
      });
      return { sessionId, view: created.json<{ linkedDevice: unknown }>(), linkedDevice: scanned.result.linkedDevice };
    };

    it("an account's own names win over the workspace's, which win over WhatsApp Web's", async () => {
      const workspaceId = uniqueId('ws-devices');
      const key = await api.keyFor(workspaceId);
      const plain = await linkAs(key, workspaceId, {});
      assert.deepEqual(plain.linkedDevice, { os: 'Linux', name: 'Chrome' }, "WhatsApp Web's own without a setting");

      const set = await api.as(key, {
        method: 'PUT',
        url: `/v1/workspaces/${workspaceId}/linked-device`,
        payload: { deviceName: 'Toko Maju', browserName: null },
      });
      assert.equal(set.statusCode, 200, set.body);
      assert.deepEqual(set.json(), { workspaceId, deviceName: 'Toko Maju', browserName: null });

      const inherited = await linkAs(key, workspaceId, {});
      assert.deepEqual(inherited.linkedDevice, { os: 'Toko Maju', name: 'Chrome' }, 'the workspace default');
      const own = await linkAs(key, workspaceId, { deviceName: 'Till 2', browserName: 'Firefox' });
      assert.deepEqual(own.linkedDevice, { os: 'Till 2', name: 'Firefox' }, "the account's own");
      assert.deepEqual(own.view.linkedDevice, { deviceName: 'Till 2', browserName: 'Firefox' });

      const renamed = await api.as(key, {
        method: 'PUT',
        url: `/v1/workspaces/${workspaceId}/accounts/${own.sessionId}/linked-device`,
        payload: { deviceName: 'Till 3', browserName: null },
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.deepEqual(renamed.json<{ linkedDevice: unknown }>().linkedDevice, {
        deviceName: 'Till 3',
        browserName: null,
      });
    });

    it('names are validated, and another workspace can neither read nor change them', async () => {
      const workspaceId = uniqueId('ws-devices-bad');
      const key = await api.keyFor(workspaceId);
      for (const deviceName of ['', 'x'.repeat(51), 'line\nbreak']) {
        const answer = await api.as(key, {
          method: 'PUT',
          url: `/v1/workspaces/${workspaceId}/linked-device`,
          payload: { deviceName, browserName: null },
        });
        assert.equal(answer.statusCode, 400, JSON.stringify(deviceName));
        assert.equal(answer.json<{ code: string }>().code, 'validation_failed');
      }
      const sessionId = uniqueId('guarded');
      assert.equal(
        (await api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: { sessionId } }))
          .statusCode,
        201,
      );
      const other = await api.keyFor(uniqueId('ws-devices-other'));
      const foreignPut = await api.as(other, {
        method: 'PUT',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/linked-device`,
        payload: { deviceName: 'Stolen', browserName: null },
      });
      assert.equal(foreignPut.statusCode, 404);
      assert.equal((await api.as(other, { url: `/v1/workspaces/${workspaceId}/linked-device` })).statusCode, 404);
    });
  },
);

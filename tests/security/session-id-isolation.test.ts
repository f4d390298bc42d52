import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import type { ChildHandle } from '../../lib/child-process.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

/**
 * A session id belongs to its workspace: another workspace choosing the same id learns nothing (its create answers
 * as for a fresh id) and gets an account of its own, which lives and ends without touching the first one's.
 */
describe('session ids are per workspace', { timeout: 120_000 }, () => {
  let pool: DatabasePool;
  let app: FastifyInstance;
  let api: TestApi;
  let worker: ChildHandle;
  let closeClient: () => Promise<void>;

  before(async () => {
    pool = await openPool();
    const { client, close } = await openTemporalClient();
    closeClient = close;
    const started = await startTestWorker(FAST_SIMULATOR_ENV);
    worker = started.worker;
    api = await buildTestApi(pool, client, { taskQueue: started.taskQueue, simulator: true });
    app = api.app;
  });
  after(async () => {
    await app?.close();
    await worker?.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
  });

  const create = (key: string, workspaceId: string, sessionId: string) =>
    api.as(key, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: { sessionId } });
  const account = async (key: string, workspaceId: string, sessionId: string) => {
    const response = await api.as(key, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  };
  const connect = async (key: string, workspaceId: string, sessionId: string) => {
    await eventually(async () => ((await account(key, workspaceId, sessionId)).qr ? true : undefined), 20_000, 'QR');
    const phone = randomPhone();
    const scanned = await api.as(key, {
      method: 'POST',
      url: `/v1/simulator/sessions/${sessionId}/scan`,
      payload: { phone, pushName: workspaceId },
    });
    assert.equal(scanned.statusCode, 200, scanned.body);
    const connected = await eventually(
      async () => {
        const view = await account(key, workspaceId, sessionId);
        return view.status === 'connected' ? view : undefined;
      },
      20_000,
      `${workspaceId}/${sessionId} connected`,
    );
    assert.equal(connected.phoneNumber, phone);
    return connected;
  };

  it("B's create of an id A uses answers 201 with B's own account; both connect; B's end leaves A connected", async () => {
    const workspaceA = uniqueId('ws-a');
    const workspaceB = uniqueId('ws-b');
    const [keyA, keyB] = [await api.keyFor(workspaceA), await api.keyFor(workspaceB)];
    const sessionId = uniqueId('shared');

    const createdA = await create(keyA, workspaceA, sessionId);
    assert.equal(createdA.statusCode, 201, createdA.body);
    const createdB = await create(keyB, workspaceB, sessionId);
    assert.equal(createdB.statusCode, 201, createdB.body);
    assert.equal(createdB.json().workspaceId, workspaceB);
    assert.equal(createdB.json().sessionId, sessionId);

    const connectedA = await connect(keyA, workspaceA, sessionId);
    const connectedB = await connect(keyB, workspaceB, sessionId);
    assert.notEqual(connectedA.phoneNumber, connectedB.phoneNumber);
    assert.equal((await account(keyA, workspaceA, sessionId)).phoneNumber, connectedA.phoneNumber);

    const loggedOut = await api.as(keyB, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceB}/accounts/${sessionId}/logout`,
    });
    assert.equal(loggedOut.statusCode, 202, loggedOut.body);
    await eventually(
      async () => ((await account(keyB, workspaceB, sessionId)).failureReason === 'logged_out' ? true : undefined),
      20_000,
      "B's account logged out",
    );
    const deleted = await api.as(keyB, { method: 'DELETE', url: `/v1/workspaces/${workspaceB}/accounts/${sessionId}` });
    assert.equal(deleted.statusCode, 202, deleted.body);
    await eventually(
      async () => ((await account(keyB, workspaceB, sessionId)).deletedAt ? true : undefined),
      20_000,
      "B's account deleted",
    );

    // A's session runs on: a drop played on it reconnects it, so its engine session is still its own.
    const stillA = await account(keyA, workspaceA, sessionId);
    assert.equal(stillA.status, 'connected');
    assert.equal(stillA.deletedAt, null);
    assert.equal(stillA.phoneNumber, connectedA.phoneNumber);
    const dropped = await api.as(keyA, { method: 'POST', url: `/v1/simulator/sessions/${sessionId}/drop` });
    assert.equal(dropped.statusCode, 200, dropped.body);
    await eventually(
      async () => {
        const events = await api.as(keyA, {
          method: 'GET',
          url: `/v1/workspaces/${workspaceA}/accounts/${sessionId}`,
        });
        return events.json().status === 'connected' ? true : undefined;
      },
      20_000,
      "A's account back after a drop",
    );
  });

  it("B's create of an id A deleted answers 201 like a fresh id", async () => {
    const workspaceA = uniqueId('ws-a');
    const workspaceB = uniqueId('ws-b');
    const [keyA, keyB] = [await api.keyFor(workspaceA), await api.keyFor(workspaceB)];
    const sessionId = uniqueId('deleted');

    assert.equal((await create(keyA, workspaceA, sessionId)).statusCode, 201);
    const deleted = await api.as(keyA, { method: 'DELETE', url: `/v1/workspaces/${workspaceA}/accounts/${sessionId}` });
    assert.equal(deleted.statusCode, 202, deleted.body);
    await eventually(
      async () => ((await account(keyA, workspaceA, sessionId)).deletedAt ? true : undefined),
      20_000,
      "A's account deleted",
    );

    const fresh = await create(keyB, workspaceB, uniqueId('fresh'));
    const reused = await create(keyB, workspaceB, sessionId);
    assert.equal(reused.statusCode, fresh.statusCode, reused.body);
    assert.equal(reused.statusCode, 201);
    assert.equal(reused.json().workspaceId, workspaceB);
    await connect(keyB, workspaceB, sessionId);
  });
});

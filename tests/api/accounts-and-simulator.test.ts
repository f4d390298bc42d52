import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { WAIT_EVENT_TYPES } from '../../domain/account-wait.js';
import { listAccountEvents } from '../../db/account-events.js';
import { endAccount } from '../../db/account-lifecycle.js';
import { ENDINGS, endingReason } from '../../domain/account-endings.js';
import { sessionKey } from '../../domain/session-key.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

describe(
  'accounts over HTTP, with the simulated phone played through the control surface',
  { timeout: 120_000 },
  () => {
    let pool: DatabasePool;
    let app: FastifyInstance;
    let api: TestApi;
    let worker: ChildHandle;
    let closeClient: () => Promise<void>;
    let temporal: Client;

    before(async () => {
      pool = await openPool();
      const { client, close } = await openTemporalClient();
      closeClient = close;
      temporal = client;
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

    const getAccount = async (workspaceId: string, sessionId: string) => {
      const response = await api.as(api.adminKey, {
        method: 'GET',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}`,
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    };

    const createIn = (workspaceId: string, sessionId: string) =>
      api.as(api.adminKey, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: { sessionId } });

    it('create → QR → scan → connected → delete', async () => {
      const workspaceId = uniqueId('ws');
      const created = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { metadata: { label: 'front desk' } },
      });
      assert.equal(created.statusCode, 201, created.body);
      const { sessionId } = created.json();
      assert.match(sessionId, /^acc_[0-9a-f]{32}$/);

      const withQr = await eventually(
        async () => {
          const account = await getAccount(workspaceId, sessionId);
          return account.qr ? account : undefined;
        },
        20_000,
        'a QR',
      );
      assert.equal(withQr.status, 'qr_scanning');
      assert.deepEqual(withQr.metadata, { label: 'front desk' });

      const phone = randomPhone();
      const scanned = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/simulator/sessions/${sessionId}/scan`,
        payload: { phone, pushName: 'Front Desk' },
      });
      assert.equal(scanned.statusCode, 200, scanned.body);

      const connected = await eventually(
        async () => {
          const account = await getAccount(workspaceId, sessionId);
          return account.status === 'connected' ? account : undefined;
        },
        20_000,
        'connected',
      );
      assert.equal(connected.phoneNumber, phone);
      assert.equal(connected.isPrimary, true);
      assert.equal(connected.qr, null, 'a connected account shows no QR');

      const again = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/scan`,
      });
      assert.equal(again.statusCode, 404);

      const deleted = await api.as(api.adminKey, {
        method: 'DELETE',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}`,
      });
      assert.equal(deleted.statusCode, 202);
      const gone = await eventually(
        async () => {
          const account = await getAccount(workspaceId, sessionId);
          return account.deletedAt ? account : undefined;
        },
        20_000,
        'soft-deleted',
      );
      assert.equal(gone.isPrimary, false);
    });

    it('pairing code on request, restart without a new scan, logout from the API', async () => {
      const workspaceId = uniqueId('ws');
      const { sessionId } = (
        await api.as(api.adminKey, { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, payload: {} })
      ).json();
      await eventually(async () => ((await getAccount(workspaceId, sessionId)).qr ? true : undefined), 20_000, 'a QR');
      const phone = randomPhone();
      const paired = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/pairing-code`,
        payload: { phoneNumber: phone },
      });
      assert.equal(paired.statusCode, 200, paired.body);
      const { code } = paired.json();
      assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      assert.equal(
        (
          await api.as(api.adminKey, {
            method: 'POST',
            url: `/v1/simulator/sessions/${sessionId}/enter-code`,
            payload: { code },
          })
        ).statusCode,
        200,
      );
      await eventually(
        async () => ((await getAccount(workspaceId, sessionId)).status === 'connected' ? true : undefined),
        20_000,
        'connected',
      );

      const refused = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/pairing-code`,
        payload: { phoneNumber: phone },
      });
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json().code, 'pairing_code_refused');

      assert.equal(
        (
          await api.as(api.adminKey, {
            method: 'POST',
            url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/restart`,
          })
        ).statusCode,
        202,
      );
      await eventually(
        async () => {
          const events = (await listAccountEvents(pool, workspaceId, sessionId)).filter(
            (event) =>
              event.type !== 'qr' && event.type !== 'pairing_code' && !WAIT_EVENT_TYPES.includes(event.type as never),
          );
          const tail = events
            .slice(-2)
            .map((event) => `${event.type}:${typeof event.data.reason === 'string' ? event.data.reason : ''}`);
          return tail.join(',') === 'disconnected:restart_requested,session_ready:' ? true : undefined;
        },
        20_000,
        'disconnected by the restart, then connected again',
      );
      assert.equal((await getAccount(workspaceId, sessionId)).status, 'connected');

      assert.equal(
        (
          await api.as(api.adminKey, {
            method: 'POST',
            url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/logout`,
          })
        ).statusCode,
        202,
      );
      const out = await eventually(
        async () => {
          const account = await getAccount(workspaceId, sessionId);
          return account.status === 'disconnected' && account.failureReason === 'logged_out' ? account : undefined;
        },
        20_000,
        'logged out',
      );
      assert.equal(out.isPrimary, false);
      await temporal.workflow.getHandle(accountWorkflowId(workspaceId, sessionId)).result();
      const afterLogout = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/restart`,
      });
      assert.equal(afterLogout.statusCode, 409);
      assert.equal(afterLogout.json().code, 'account_ended');
    });

    it('the same sessionId twice gives the same account', async () => {
      const workspaceId = uniqueId('ws');
      const sessionId = uniqueId('given');
      const first = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { sessionId },
      });
      const second = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { sessionId },
      });
      assert.equal(first.statusCode, 201);
      assert.equal(second.statusCode, 200);
      assert.equal(second.json().createdAt, first.json().createdAt);
      // A session id is the workspace's own: another workspace's is an account of its own.
      const otherWorkspaceId = uniqueId('ws');
      const elsewhere = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${otherWorkspaceId}/accounts`,
        payload: { sessionId },
      });
      assert.equal(elsewhere.statusCode, 201, elsewhere.body);
      assert.equal(elsewhere.json().workspaceId, otherWorkspaceId);
      for (const workspace of [workspaceId, otherWorkspaceId])
        await api.as(api.adminKey, { method: 'DELETE', url: `/v1/workspaces/${workspace}/accounts/${sessionId}` });
    });

    it('an ended account: a DELETE hides it even after another workspace deleted its own account of the same id, a DELETE repeated writes no second event, a create of its id starts no new run', async () => {
      const sessionId = uniqueId('ended');
      const [first, second] = [uniqueId('ws-ended'), uniqueId('ws-ended')];
      const runs = new Map<string, string>();
      for (const workspaceId of [first, second]) {
        const created = await api.as(api.adminKey, {
          method: 'POST',
          url: `/v1/workspaces/${workspaceId}/accounts`,
          payload: { sessionId },
        });
        assert.equal(created.statusCode, 201, created.body);
        const handle = temporal.workflow.getHandle(accountWorkflowId(workspaceId, sessionId));
        runs.set(workspaceId, (await handle.describe()).runId);
        await eventually(
          async () => ((await getAccount(workspaceId, sessionId)).qr ? true : undefined),
          20_000,
          'a QR',
        );
        const logout = await api.as(api.adminKey, {
          method: 'POST',
          url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/logout`,
        });
        assert.equal(logout.statusCode, 202, logout.body);
        await handle.result();
      }
      const createdAgain = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${first}/accounts`,
        payload: { sessionId },
      });
      assert.equal(createdAgain.statusCode, 200, createdAgain.body);
      assert.equal(createdAgain.json().failureReason, 'logged_out');
      const afterLogout = await temporal.workflow.getHandle(accountWorkflowId(first, sessionId)).describe();
      assert.equal(afterLogout.runId, runs.get(first), 'a logged-out account: no new run');

      const deleteIn = async (workspaceId: string) => {
        const response = await api.as(api.adminKey, {
          method: 'DELETE',
          url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}`,
        });
        assert.equal(response.statusCode, 202, response.body);
      };
      const deletions = async (workspaceId: string) =>
        (await listAccountEvents(pool, workspaceId, sessionId)).filter((event) => event.type === 'session_deleted')
          .length;

      // Both workflows are over: each DELETE is carried out by the API itself.
      await deleteIn(first);
      await deleteIn(second);
      for (const workspaceId of [first, second]) {
        assert.notEqual(
          (await getAccount(workspaceId, sessionId)).deletedAt,
          null,
          `${workspaceId}'s account is deleted`,
        );
        assert.equal(await deletions(workspaceId), 1, `${workspaceId}: one deletion event`);
      }

      // An account its own workflow deleted, deleted once more once that workflow is over.
      const third = uniqueId('ws-ended');
      assert.equal(
        (
          await api.as(api.adminKey, {
            method: 'POST',
            url: `/v1/workspaces/${third}/accounts`,
            payload: { sessionId },
          })
        ).statusCode,
        201,
      );
      await deleteIn(third);
      await temporal.workflow.getHandle(accountWorkflowId(third, sessionId)).result();
      await deleteIn(third);
      assert.equal(await deletions(third), 1, 'one deletion event after two DELETEs');

      const again = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${first}/accounts`,
        payload: { sessionId },
      });
      assert.equal(again.statusCode, 200, again.body);
      assert.notEqual(again.json().deletedAt, null);
      const description = await temporal.workflow.getHandle(accountWorkflowId(first, sessionId)).describe();
      assert.equal(description.runId, runs.get(first), 'a deleted account: no new run');
      assert.equal(description.status.name, 'COMPLETED');
    });

    it('an account whose workflow an operator terminated starts again on a repeated create, from its saved login: connected again, no second QR', async () => {
      const workspaceId = uniqueId('ws-terminated');
      const sessionId = uniqueId('terminated');
      const create = () => createIn(workspaceId, sessionId);
      assert.equal((await create()).statusCode, 201);
      await eventually(async () => ((await getAccount(workspaceId, sessionId)).qr ? true : undefined), 20_000, 'a QR');
      const scanned = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/simulator/sessions/${sessionId}/scan`,
        payload: { phone: randomPhone() },
      });
      assert.equal(scanned.statusCode, 200, scanned.body);
      const readyEvents = async () =>
        (await listAccountEvents(pool, workspaceId, sessionId)).filter((event) => event.type === 'session_ready');
      await eventually(async () => ((await readyEvents()).length === 1 ? true : undefined), 20_000, 'ready once');

      const handle = temporal.workflow.getHandle(accountWorkflowId(workspaceId, sessionId));
      const terminatedRun = (await handle.describe()).runId;
      await handle.terminate('an operator ended it in the Web UI');

      const createdAgain = await create();
      assert.equal(createdAgain.statusCode, 200, createdAgain.body);
      const restarted = await handle.describe();
      assert.notEqual(restarted.runId, terminatedRun, 'a new run');
      assert.equal(restarted.status.name, 'RUNNING');
      await eventually(
        async () => ((await readyEvents()).length === 2 ? true : undefined),
        20_000,
        'ready again, written by the new run',
      );
      assert.equal((await getAccount(workspaceId, sessionId)).status, 'connected');
      const qrs = (await listAccountEvents(pool, workspaceId, sessionId)).filter((event) => event.type === 'qr');
      assert.equal(qrs.length, 1, 'the first scan only');
    });

    it('an account whose workflow was terminated after it had logged out is not started again by a create', async () => {
      const workspaceId = uniqueId('ws-ended-terminated');
      const sessionId = uniqueId('ended-terminated');
      const create = () => createIn(workspaceId, sessionId);
      assert.equal((await create()).statusCode, 201);
      await eventually(async () => ((await getAccount(workspaceId, sessionId)).qr ? true : undefined), 20_000, 'a QR');
      const handle = temporal.workflow.getHandle(accountWorkflowId(workspaceId, sessionId));
      const terminatedRun = (await handle.describe()).runId;
      // Its logout was written; the operator terminated the workflow before it had finished ending.
      await handle.terminate('an operator ended it in the Web UI');
      const { status, eventType, softDelete, forgetLogin } = ENDINGS.logged_out;
      await endAccount(pool, {
        sessionId: sessionKey(workspaceId, sessionId),
        status,
        eventType,
        softDelete,
        forgetLogin,
        reason: endingReason('logged_out'),
        dedupeKey: uniqueId('logout'),
      });

      const again = await create();
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().failureReason, 'logged_out');
      const described = await handle.describe();
      assert.deepEqual([described.runId, described.status.name], [terminatedRun, 'TERMINATED'], 'no new run');
    });

    it('bad input gets a problem with a stable code that names the field, and loses nothing', async () => {
      const workspaceId = uniqueId('ws');
      const accounts = `/v1/workspaces/${workspaceId}/accounts`;
      const scan = '/v1/simulator/sessions/nobody/scan';
      // method, url, body (a string is sent as it is, as JSON), status, code, and the field the problem names.
      type Case = ['POST' | 'GET', string, unknown, number, string, string?];
      const cases: Case[] = [
        ['POST', accounts, { sessionId: 'ok', colour: 'blue' }, 400, 'validation_failed', 'colour'],
        ['POST', accounts, { sessionId: 'has space' }, 400, 'validation_failed', '/sessionId'],
        ['POST', accounts, { mode: 'pairing_code' }, 422, 'phone_number_required', '/phoneNumber'],
        ['POST', accounts, { mode: 'pairing_code', phoneNumber: '+62811' }, 400, 'validation_failed', '/phoneNumber'],
        ['POST', '/v1/workspaces/bad%20ws/accounts', {}, 400, 'validation_failed', '/workspaceId'],
        ['POST', accounts, '{"sessionId":', 400, 'fst_err_ctp_invalid_json_body'],
        ['GET', `${accounts}/nobody`, undefined, 404, 'account_not_found'],
        ['POST', scan, { phone: '62811801641' }, 404, 'no_simulated_session'],
        ['POST', scan, { phone: '0811' }, 400, 'validation_failed', '/phone'],
        // Inputs PostgreSQL cannot take (the schema-driven fuzzer finds such): refused before any query.
        ['GET', `${accounts}?cursor=1293569039258672955392`, undefined, 400, 'validation_failed', 'cursor'],
        ['POST', accounts, '{"sessionId":"ok","metadata":{"\\u0000":1}}', 400, 'unstorable_text', '/metadata'],
        ['POST', accounts, '{"sessionId":"ok","metadata":{"k":"\\ud8a7"}}', 400, 'unstorable_text', '/metadata/k'],
        ['POST', '/v1/admin/api-keys', '{"name":"E\\u0000","workspaceId":null}', 400, 'unstorable_text', '/name'],
      ];
      for (const [method, url, body, status, code, field] of cases) {
        const response = await api.as(api.adminKey, {
          method,
          url,
          ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
          ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' } }),
        });
        assert.equal(response.statusCode, status, `${method} ${url} ${JSON.stringify(body)}: ${response.body}`);
        assert.match(String(response.headers['content-type']), /application\/problem\+json/);
        const problem = response.json();
        assert.equal(problem.code, code, response.body);
        if (field) assert.ok(JSON.stringify(problem.errors ?? []).includes(field), `names ${field}: ${response.body}`);
        assert.doesNotMatch(response.body, /\.ts:\d+|at async/);
      }
      const listed = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts/ok` });
      assert.equal(listed.statusCode, 404, 'the rejected create stored nothing');
    });

    it('serves the OpenAPI document', async () => {
      const response = await api.as(api.adminKey, { method: 'GET', url: '/docs/json' });
      assert.equal(response.statusCode, 200);
      const document = response.json();
      assert.ok(document.paths['/v1/workspaces/{workspaceId}/accounts']);
      assert.ok(document.paths['/v1/simulator/sessions/{sessionId}/scan']);
    });
  },
);

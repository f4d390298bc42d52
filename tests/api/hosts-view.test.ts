import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { HOST_REPORT_EVERY_MS, hostState } from '../../domain/host-state.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { apiRolePool, startTestWorker } from '../helpers/worker-process.js';

interface HostView {
  taskQueue: string;
  pid: number;
  engine: string;
  state: string;
  seats: number;
  sessions: number;
  startsPerSecond: number;
  builds: { version: string | null; sessions: number }[];
  processMemoryBytes: number;
  leasesRenewedAt: string | null;
  reportedAt: string;
}

describe('a host is silent after three missed reports (a pure decision)', () => {
  const reportedAt = 1_000_000;
  it('running, draining, stopped, silent', () => {
    const at = (ms: number, draining = false, stoppedAt: number | null = null) =>
      hostState({ draining, stoppedAt, reportedAt }, reportedAt + ms);
    assert.equal(at(HOST_REPORT_EVERY_MS * 3), 'running');
    assert.equal(at(HOST_REPORT_EVERY_MS, true), 'draining');
    assert.equal(at(HOST_REPORT_EVERY_MS * 3 + 1), 'silent');
    assert.equal(at(HOST_REPORT_EVERY_MS * 3 + 1, true), 'silent', 'a draining host that stopped reporting died');
    assert.equal(at(HOST_REPORT_EVERY_MS * 100, false, reportedAt), 'stopped');
  });
});

describe('GET /v1/admin/hosts: the fleet at a glance', { timeout: 180_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let api: TestApi;
  let apiPool: DatabasePool;
  const workers: ChildHandle[] = [];
  const taskQueue = uniqueId('tq-hosts');

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    apiPool = await apiRolePool();
    api = await buildTestApi(apiPool, client, { taskQueue, simulator: true });
  });
  after(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await api?.app.close();
    await apiPool?.end();
    await closeClient?.();
    await pool?.end();
  });

  const hosts = async (): Promise<HostView[]> => {
    const answer = await api.as(api.adminKey, { url: '/v1/admin/hosts' });
    assert.equal(answer.statusCode, 200, answer.body);
    return answer.json<{ items: HostView[] }>().items;
  };
  const hostOf = async (pid: number | undefined) => (await hosts()).find((host) => host.pid === pid);

  it('each host with its seats, its sessions and their builds; a draining host says so, then that it stopped', async () => {
    const env = {
      ...FAST_SIMULATOR_ENV,
      HOST_SESSION_CAPACITY: '5',
      WA_WEB_VERSION: '2.3000.1017054665',
      // The build a session runs is seen at its host's check: every second here.
      ENGINE_CHECK_EVERY_MS: '1000',
      // One session a second: the hand-over of two lasts long enough to be seen.
      HOST_SESSION_STARTS_PER_SECOND: '1',
    };
    const first = await startTestWorker(env, taskQueue);
    workers.push(first.worker);
    const firstPid = first.worker.process.pid;
    const listed = await eventually(async () => hostOf(firstPid), 10_000, 'the first host reported itself');
    assert.equal(listed.state, 'running');
    assert.equal(listed.engine, 'simulated');
    assert.equal(listed.seats, 5);
    assert.equal(listed.sessions, 0);
    assert.ok(listed.processMemoryBytes > 10 * 2 ** 20, `a Node process holds memory: ${listed.processMemoryBytes}`);
    assert.ok(listed.leasesRenewedAt, 'its lease renewals are dated');

    const accounts = new AccountDriver(pool, client, taskQueue);
    const sessions = await Promise.all([1, 2].map(() => accounts.create()));
    for (const { sessionId } of sessions) {
      await accounts.showingQr(sessionId);
      await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
      await accounts.rowWithStatus(sessionId, 'connected');
    }
    const holding = await eventually(
      async () => {
        const host = await hostOf(firstPid);
        return host?.sessions === 2 && host.builds.every((build) => build.version !== null) ? host : undefined;
      },
      30_000,
      'the host holds both sessions, and the build each runs is seen',
    );
    assert.deepEqual(holding.builds, [{ version: '2.3000.1017054665', sessions: 2 }]);

    const second = await startTestWorker(env, taskQueue);
    workers.push(second.worker);
    await eventually(async () => hostOf(second.worker.process.pid), 10_000, 'the second host reported itself');
    first.worker.process.kill('SIGTERM');
    await eventually(
      async () => ((await hostOf(firstPid))?.state === 'draining' ? true : undefined),
      10_000,
      'the first host says it drains',
    );
    await first.worker.exited;
    assert.equal((await hostOf(firstPid))?.state, 'stopped', 'a host that drained and exited says it stopped');
    await eventually(
      async () => ((await hostOf(second.worker.process.pid))?.sessions === 2 ? true : undefined),
      60_000,
      'the sessions moved to the second host',
    );
  });

  it('a workspace key finds no such route; GET /v1/key tells it apart from an admin key', async () => {
    const workspaceId = uniqueId('ws-hosts');
    const key = await api.keyFor(workspaceId);
    const keyInfo = await api.as(key, { url: '/v1/key' });
    assert.deepEqual(keyInfo.json(), { name: keyInfo.json<{ name: string }>().name, workspaceId, admin: false });
    assert.equal((await api.as(api.adminKey, { url: '/v1/key' })).json<{ admin: boolean }>().admin, true);
    const answer = await api.as(key, { url: '/v1/admin/hosts' });
    assert.equal(answer.statusCode, 404, answer.body);
    assert.equal(answer.json<{ code: string }>().code, 'route_not_found');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { sessionHost } from '../../db/session-leases.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

/** An operator terminated an account's workflow in the Web UI: the same create starts it again. */
describe('an account whose workflow was terminated', { timeout: 180_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  const workers: ChildHandle[] = [];
  const taskQueue = uniqueId('tq-terminated');

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
  });
  after(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await closeClient?.();
    await pool?.end();
  });

  it('starts again on another host: the old run’s client there is stopped, and the new run connects from the saved login without a scan', async () => {
    // One seat a host: the old run's client keeps the first host's, so the new run is placed on the second.
    const env = { ...FAST_SIMULATOR_ENV, HOST_SESSION_CAPACITY: '1' };
    workers.push((await startTestWorker(env, taskQueue)).worker);
    const accounts = new AccountDriver(pool, client, taskQueue);
    const { workspaceId, sessionId, handle } = await accounts.create();
    await accounts.showingQr(sessionId);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await accounts.rowWithStatus(sessionId, 'connected');
    const key = await accounts.key(sessionId);
    const firstHost = await sessionHost(pool, key);
    assert.ok(firstHost, 'the session runs under a lease');
    const readyCount = async () =>
      (await accounts.eventTypes(sessionId)).filter((type) => type === 'session_ready').length;
    assert.equal(await readyCount(), 1);

    workers.push((await startTestWorker(env, taskQueue)).worker);
    const terminatedRun = (await handle.describe()).runId;
    await handle.terminate('an operator ended it in the Web UI');
    await accounts.create({ workspaceId, sessionId });
    assert.notEqual((await handle.describe()).runId, terminatedRun, 'a new run');

    await eventually(
      async () => ((await readyCount()) === 2 ? true : undefined),
      90_000,
      'ready again, on the new run',
    );
    const secondHost = await sessionHost(pool, key);
    assert.ok(secondHost !== null && secondHost !== firstHost, `now on the other host (${secondHost})`);
    assert.equal((await accounts.row(sessionId))?.status, 'connected');
    const qrs = (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr');
    assert.equal(qrs.length, 1, 'the first scan only');
  });
});

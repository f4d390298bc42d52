import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sessionHost } from '../../db/session-leases.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { useWorkerHosts } from '../helpers/worker-process.js';

/** An operator terminated an account's workflow in the Web UI: the same create starts it again. */
describe('an account whose workflow was terminated', { timeout: 180_000 }, () => {
  const hosts = useWorkerHosts('SIGKILL');
  const taskQueue = uniqueId('tq-terminated');

  it('starts again on another host: the old run’s client there is stopped, and the new run connects from the saved login without a scan', async () => {
    // One seat a host: the old run's client keeps the first host's, so the new run is placed on the second.
    const env = { ...FAST_SIMULATOR_ENV, HOST_SESSION_CAPACITY: '1' };
    await hosts.start(env, taskQueue);
    const accounts = new AccountDriver(hosts.pool, hosts.client, taskQueue);
    const { workspaceId, sessionId, handle } = await accounts.create();
    await accounts.showingQr(sessionId);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await accounts.rowWithStatus(sessionId, 'connected');
    const key = await accounts.key(sessionId);
    const firstHost = await sessionHost(hosts.pool, key);
    assert.ok(firstHost, 'the session runs under a lease');
    const readyCount = async () =>
      (await accounts.eventTypes(sessionId)).filter((type) => type === 'session_ready').length;
    assert.equal(await readyCount(), 1);

    await hosts.start(env, taskQueue);
    const terminatedRun = (await handle.describe()).runId;
    await handle.terminate('an operator ended it in the Web UI');
    await accounts.create({ workspaceId, sessionId });
    assert.notEqual((await handle.describe()).runId, terminatedRun, 'a new run');

    await eventually(
      async () => ((await readyCount()) === 2 ? true : undefined),
      90_000,
      'ready again, on the new run',
    );
    const secondHost = await sessionHost(hosts.pool, key);
    assert.ok(secondHost !== null && secondHost !== firstHost, `now on the other host (${secondHost})`);
    assert.equal((await accounts.row(sessionId))?.status, 'connected');
    const qrs = (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr');
    assert.equal(qrs.length, 1, 'the first scan only');
  });
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { ChildHandle } from '../../lib/child-process.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { useWorkerHosts } from '../helpers/worker-process.js';

/** `count` accounts created, scanned and connected on the accounts' queue. */
async function connectedSessions(accounts: AccountDriver, count: number) {
  const sessions = await Promise.all(Array.from({ length: count }, () => accounts.create()));
  for (const { sessionId } of sessions) {
    await accounts.showingQr(sessionId);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
  }
  for (const { sessionId } of sessions) await accounts.rowWithStatus(sessionId, 'connected');
  return sessions;
}

/** The worker's exit code, or 'still running' after `withinMs`. */
function exitWithin(worker: ChildHandle, withinMs: number): Promise<unknown> {
  return Promise.race([worker.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), withinMs))]);
}

/** SIGTERM on a host: it takes no new session, hands its sessions to the other hosts without a scan, and exits. */
describe('host drain', { timeout: 300_000 }, () => {
  const hosts = useWorkerHosts('SIGKILL');
  const taskQueue = uniqueId('tq-drain');

  it('the draining host’s sessions connect again on another host from their saved logins, and it exits by itself', async () => {
    const env = { ...FAST_SIMULATOR_ENV, HOST_SESSION_STARTS_PER_SECOND: '10' };
    const first = await hosts.start(env, taskQueue);
    const accounts = new AccountDriver(hosts.pool, hosts.client, taskQueue);
    const sessions = await connectedSessions(accounts, 3);
    const qrEventsBefore = await Promise.all(
      sessions.map(async ({ sessionId }) => (await accounts.eventTypes(sessionId)).filter((t) => t === 'qr').length),
    );

    await hosts.start(env, taskQueue);
    first.worker.process.kill('SIGTERM');
    const exitCode = await exitWithin(first.worker, 60_000);
    assert.equal(exitCode, 0, 'the drained host exited by itself');
    assert.match(await readFile(first.logFile, 'utf8'), /"handedOver":3,"stoppedAtOnce":0/);

    for (const { sessionId } of sessions) await accounts.reconnected(sessionId, 60_000, 'connected on the other host');
    const qrEventsAfter = await Promise.all(
      sessions.map(async ({ sessionId }) => (await accounts.eventTypes(sessionId)).filter((t) => t === 'qr').length),
    );
    assert.deepEqual(qrEventsAfter, qrEventsBefore, 'no new QR: nobody scanned again');
    // Only the second host is left, so each session runs there: a drop reaches it, and it comes back on that host.
    const disconnections = async (sessionId: string) =>
      (await accounts.statusHistory(sessionId)).filter((status) => status === 'disconnected').length;
    for (const { sessionId } of sessions) {
      const before = await disconnections(sessionId);
      await accounts.phone(sessionId, 'drop');
      await eventually(
        async () =>
          (await disconnections(sessionId)) > before && (await accounts.statusHistory(sessionId)).at(-1) === 'connected'
            ? true
            : undefined,
        60_000,
        `${sessionId}: dropped and connected again on the remaining host`,
      );
    }
  });

  it('a host alone does not wait out its grace: no other host takes its sessions, so it stops the rest and exits', async () => {
    const aloneQueue = uniqueId('tq-drain-alone');
    const env = { ...FAST_SIMULATOR_ENV, HOST_SESSION_STARTS_PER_SECOND: '50', HOST_DRAIN_GRACE_MS: '90000' };
    const alone = await hosts.start(env, aloneQueue);
    const accounts = new AccountDriver(hosts.pool, hosts.client, aloneQueue);
    const sessions = await connectedSessions(accounts, 10);

    const signalledAt = Date.now();
    alone.worker.process.kill('SIGTERM');
    const exitCode = await exitWithin(alone.worker, 60_000);
    assert.equal(exitCode, 0, 'exited by itself, before the 90 s grace');
    // Eight wait for a host at once before any has landed; none lands within 10 s, so the other two stop at once.
    assert.match(await readFile(alone.logFile, 'utf8'), /"handedOver":8,"stoppedAtOnce":2/);
    assert.ok(Date.now() - signalledAt < 30_000, `exited ${Date.now() - signalledAt} ms after SIGTERM`);

    await hosts.start(env, aloneQueue);
    for (const { sessionId } of sessions) await accounts.reconnected(sessionId, 60_000, 'connected on the next host');
  });
  it('a host whose terminal closed (SIGHUP) drains as on SIGTERM, and exits by itself', async () => {
    const queue = uniqueId('tq-drain-hangup');
    const env = { ...FAST_SIMULATOR_ENV, HOST_SESSION_STARTS_PER_SECOND: '50', HOST_DRAIN_GRACE_MS: '90000' };
    const host = await hosts.start(env, queue);
    const accounts = new AccountDriver(hosts.pool, hosts.client, queue);
    const sessions = await connectedSessions(accounts, 2);

    host.worker.process.kill('SIGHUP');
    assert.equal(await exitWithin(host.worker, 60_000), 0, 'drained and exited, not killed by the signal');
    assert.match(await readFile(host.logFile, 'utf8'), /"handedOver":2/);

    await hosts.start(env, queue);
    for (const { sessionId } of sessions) await accounts.reconnected(sessionId, 60_000, 'connected on the next host');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { overlappingOwners } from '../../infra/fleet-audit.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { deleteAccountSignal, signalAccount } from '../../workflows/messages.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { openTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { startTestWorker } from '../helpers/worker-process.js';

const leaseSchema = z.object({ host: z.string(), released: z.boolean() });

/**
 * A host whose network to Temporal is cut while it still reaches PostgreSQL keeps renewing its leases: no other host
 * could start its sessions, and no stop sent through its task queue reaches it. What is asked of it is written on the
 * leases instead (sql/0038).
 */
describe('a host cut from Temporal but reaching PostgreSQL', { timeout: 300_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let relay: TcpRelay;
  const workers: ChildHandle[] = [];
  const taskQueue = uniqueId('tq-cut-temporal');

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    const [host, port] = testStackEnv().temporalAddress.split(':');
    relay = await openTcpRelay({ host: host ?? '127.0.0.1', port: Number(port) });
  });
  after(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await relay?.close();
    await closeClient?.();
    await pool?.end();
  });

  it('stops the clients whose stops are written on their leases: a moved session connects on the other host without a scan while the host stays cut, and a deleted account’s client stops', async () => {
    const cut = await startTestWorker(
      { ...FAST_SIMULATOR_ENV, TEMPORAL_ADDRESS: `127.0.0.1:${relay.port}` },
      taskQueue,
    );
    workers.push(cut.worker);
    const accounts = new AccountDriver(pool, client, taskQueue);
    // Its watch misses its heartbeats within 3 s of the cut: the account moves its session by itself.
    const moving = await accounts.create();
    // Its watch would take ten minutes to miss: its session stays until the account is deleted.
    const deleted = await accounts.create({ timings: { hostHeartbeatTimeoutMs: 600_000 } });
    for (const { sessionId } of [moving, deleted]) {
      await accounts.showingQr(sessionId);
      await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
      await accounts.rowWithStatus(sessionId, 'connected');
    }
    const lease = async (sessionId: string) =>
      pool.one(sql.type(leaseSchema)`
        SELECT host, released FROM session_leases WHERE session_id = ${await accounts.key(sessionId)}
      `);
    const cutHost = (await lease(moving.sessionId)).host;
    assert.equal((await lease(deleted.sessionId)).host, cutHost, 'both sessions run on the host about to be cut');
    const qrEvents = (await accounts.eventTypes(moving.sessionId)).filter((type) => type === 'qr').length;

    const other = await startTestWorker(FAST_SIMULATOR_ENV, taskQueue);
    workers.push(other.worker);
    await relay.cut();
    try {
      await accounts.reconnected(moving.sessionId, 90_000, 'connected again on the other host');
      const moved = await lease(moving.sessionId);
      assert.notEqual(moved.host, cutHost, 'the session runs on the other host');
      assert.equal(
        (await accounts.eventTypes(moving.sessionId)).filter((type) => type === 'qr').length,
        qrEvents,
        'no new QR: nobody scanned again',
      );

      await signalAccount(deleted.handle, deleteAccountSignal);
      await deleted.handle.result();
      const deletedKey = await accounts.key(deleted.sessionId);
      await eventually(
        async () => ((await lease(deleted.sessionId)).released ? true : undefined),
        60_000,
        'the cut host stopped the deleted account’s client and gave up its lease',
      );
      const openClients = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int8 AS n FROM session_clients WHERE session_id = ${deletedKey} AND ended_at IS NULL
      `);
      assert.equal(openClients, 0, 'no client of the deleted account runs anywhere');
      assert.equal(cut.worker.process.exitCode, null, 'the cut host runs on');
    } finally {
      await relay.restore();
    }
    for (const { sessionId } of [moving, deleted])
      assert.deepEqual(await overlappingOwners(pool, sessionId), [], `${sessionId} never had two owners at once`);
  });
});

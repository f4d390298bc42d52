import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { DEFAULT_TIMINGS } from '../../domain/account-timings.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { useWorkerHosts } from '../helpers/worker-process.js';

const ORDER = ['qr_scanning', 'authenticated', 'connected'];

describe('a worker process killed mid-connection', { timeout: 180_000 }, () => {
  const hosts = useWorkerHosts('SIGTERM');

  it('SIGKILL after the scan: a new worker finishes the connection from the saved auth, never going back', async () => {
    const taskQueue = uniqueId('tq-crash');
    const first = await hosts.start(FAST_SIMULATOR_ENV, taskQueue);
    const accounts = new AccountDriver(hosts.pool, hosts.client, taskQueue);
    const { sessionId } = await accounts.create({
      timings: { hostHeartbeatTimeoutMs: 2_000, hostScheduleToStartMs: 3_000 },
    });
    await accounts.showingQr(sessionId);
    const phone = randomPhone();
    // `ready` would come 60 s after the scan (3 s at the test's time scale): the worker dies before it does.
    await accounts.phone(sessionId, 'scan', { phone, readyDelayMs: 60_000 });
    await accounts.rowWithStatus(sessionId, 'authenticated');
    const qrsBeforeTheCrash = (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length;
    first.worker.process.kill('SIGKILL');
    await first.worker.exited;

    await hosts.start(FAST_SIMULATOR_ENV, taskQueue);
    const row = await accounts.rowWithStatus(sessionId, 'connected', 60_000);
    assert.equal(row.phone_number, phone);
    const history = await accounts.statusHistory(sessionId);
    const ranks = history.map((status) => ORDER.indexOf(status));
    assert.deepEqual(
      [...ranks].sort((a, b) => a - b),
      ranks,
      `status flow never went back: ${history.join(' → ')}`,
    );
    const qrsAfter = (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length;
    assert.equal(qrsAfter, qrsBeforeTheCrash, 'the second worker logged in from the saved login: no new QR');
  });

  it("a host SIGKILLed under a connected session: a live host sees its lease lapse and tells that session, long before the watch's heartbeat would; the move costs three workflow tasks, the restored login's events coming with its start, and writes no row: the row says connected throughout", async () => {
    const taskQueue = uniqueId('tq-lapse');
    const first = await hosts.start(FAST_SIMULATOR_ENV, taskQueue);
    const accounts = new AccountDriver(hosts.pool, hosts.client, taskQueue);
    // The production backstop: the watch's heartbeat would take 10 minutes to notice; moves quiet as in production.
    const quietMs = DEFAULT_TIMINGS.hostMoveQuietMs;
    const { sessionId, handle } = await accounts.create({
      timings: { hostHeartbeatTimeoutMs: 600_000, hostMoveQuietMs: quietMs },
    });
    await accounts.showingQr(sessionId);
    const phone = randomPhone();
    await accounts.phone(sessionId, 'scan', { phone });
    await accounts.rowWithStatus(sessionId, 'connected');
    await hosts.start(FAST_SIMULATOR_ENV, taskQueue);
    const eventsBefore = await accounts.eventTypes(sessionId);
    const key = await accounts.key(sessionId);

    const killedAt = Date.now();
    first.worker.process.kill('SIGKILL');
    await first.worker.exited;
    // The move's last task schedules the new host's watch: from the notice until then.
    const move = await eventually(
      async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        const noticed = events.findIndex(
          (event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'hostGone',
        );
        if (noticed < 0) return undefined;
        const since = events.slice(noticed);
        const watched = since.some(
          (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'watchEngineSession',
        );
        return watched ? since : undefined;
      },
      60_000,
      'told by a live host, not by a heartbeat timeout, and watched on the new one',
    );
    const movedInMs = Date.now() - killedAt;
    assert.ok(movedInMs < 60_000, `moved in ${movedInMs} ms, not after the 10-minute heartbeat timeout`);
    const signalled = move.flatMap((event) => event.workflowExecutionSignaledEventAttributes?.signalName ?? []);
    assert.deepEqual(signalled, ['hostGone'], 'authenticated and ready came with the start, not as signals');
    const tasks = move.filter((event) => event.workflowTaskCompletedEventAttributes != null).length;
    assert.equal(tasks, 3, 'the notice, the placement’s answer, the start');
    const restarted = await hosts.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int8 AS n FROM session_clients
      WHERE session_id = ${key} AND ended_at IS NULL AND started_at >= to_timestamp(${killedAt / 1000})
    `);
    assert.equal(restarted, 1, 'the session runs again, on the live host, from the saved login');

    // Past the quiet window: the move ended back connected with the same phone, so nothing was ever written.
    const noticeAt = killedAt + movedInMs + quietMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, noticeAt - Date.now()) + 2_000));
    assert.deepEqual(
      await accounts.eventTypes(sessionId),
      eventsBefore,
      'no disconnected, no engine_starting, no second session_ready',
    );
    const row = await accounts.row(sessionId);
    assert.equal(row?.status, 'connected');
    assert.equal(row?.phone_number, phone);
  });
});

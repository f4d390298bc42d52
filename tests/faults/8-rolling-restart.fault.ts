import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  eventTimeline,
  failedCount,
  openClientsByHost,
  overlappingOwners,
  qrEventCount,
  settled,
  timeAwayFromConnected,
} from '../../infra/fleet-audit.js';
import { faultStackFor, until } from './harness.js';
import { accountsShowingQr, assertInvariants, scan } from './workload.js';

const SESSIONS = 300;

describe('fault 8: a rolling restart of 3 hosts holding 300 sessions', { timeout: 900_000 }, () => {
  const fault = faultStackFor('rolling-restart', { MAX_LIVE_ACCOUNTS_PER_WORKSPACE: '1000' });

  it('each host in turn drains to the others and is replaced: 0 rescans, 0 failed, never two owners', async () => {
    const { stack, receiver } = fault;
    const workspaceId = 'fault-rolling-restart';
    await stack.startHost();
    await stack.startHost();
    const accounts = await accountsShowingQr(fault, workspaceId, SESSIONS, 'rr');
    await scan(stack, accounts);
    await until(() => settled(stack.pool, workspaceId, 'rr-', SESSIONS), 240_000, 'all connected');
    const qrEventsBefore = await qrEventCount(stack.pool, workspaceId);
    const restartedAt = Date.now();

    const original = stack.hosts();
    assert.equal(original.length, 3);
    const timeline: string[] = [];
    for (const host of original) {
      const queue = await stack.hostQueue(host);
      const held = (await openClientsByHost(stack.pool, 'rr-')).get(queue ?? '') ?? 0;
      const stepAt = Date.now();
      // SIGTERM drains: no new sessions, its own handed over at its start pace, then it exits.
      await host.stop('SIGTERM', 90_000);
      assert.equal(host.process.exitCode, 0, 'the drained host exited cleanly');
      await stack.startHost();
      await until(() => settled(stack.pool, workspaceId, 'rr-', SESSIONS), 180_000, 'every session connected again');
      timeline.push(`${held} sessions moved in ${Date.now() - stepAt} ms`);
    }

    assert.equal(await qrEventCount(stack.pool, workspaceId), qrEventsBefore, '0 rescans: no new QR');
    assert.equal(await failedCount(stack.pool, workspaceId), 0, '0 failed');
    assert.deepEqual(await overlappingOwners(stack.pool, 'rr-'), [], 'no session ever ran on two hosts at once');
    const away = await timeAwayFromConnected(stack.pool, workspaceId, restartedAt);
    assert.equal(away.stillAway, 0);
    await assertInvariants(stack, workspaceId, accounts, receiver);
    // What the slowest session went through, from the drain that moved it to connected again.
    const slowest = away.longestSessionId
      ? (await eventTimeline(stack.pool, away.longestSessionId, restartedAt)).join(', ')
      : 'none';
    process.stderr.write(
      `fault 8: rolling restart of 3 hosts, ${SESSIONS} sessions, ${Date.now() - restartedAt} ms (${timeline.join('; ')}); ` +
        `${away.accountsAway} accounts left connected for a while, the longest for ${away.longestMs} ms ` +
        `(${away.longestSessionId}: ${slowest})\n`,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import {
  failedCount,
  openClientsByHost,
  overlappingOwners,
  qrEventCount,
  settled,
  timeAwayFromConnected,
} from '../../infra/fleet-audit.js';
import { faultStackFor, until } from './harness.js';
import { accountsShowingQr, assertInvariants, scan, statusBreakdown } from './workload.js';

const SESSIONS = 300;
/** 3 hosts of 120 seats hold 300 sessions (83 % full); 2 of them have room for 240. */
const SEATS_PER_HOST = 120;

describe('fault 9: a host is SIGKILLed while the others are near capacity', { timeout: 900_000 }, () => {
  const fault = faultStackFor('host-killed-near-capacity', {
    MAX_LIVE_ACCOUNTS_PER_WORKSPACE: '1000',
    HOST_SESSION_CAPACITY: String(SEATS_PER_HOST),
  });

  it('its sessions fill the free seats, the rest wait visibly without failing, and a new host takes them without a scan', async () => {
    const { stack, receiver } = fault;
    const workspaceId = 'fault-host-killed-near-capacity';
    await stack.startHost();
    await stack.startHost();
    const accounts = await accountsShowingQr(fault, workspaceId, SESSIONS, 'hk');
    await scan(stack, accounts);
    await until(() => settled(stack.pool, workspaceId, 'hk-', SESSIONS), 240_000, 'all connected');
    const qrEventsBefore = await qrEventCount(stack.pool, workspaceId);

    // The fullest host dies at once: no drain, its leases run out by themselves.
    const load = await openClientsByHost(stack.pool, 'hk-');
    const hosts = await Promise.all(stack.hosts().map(async (host) => ({ host, queue: await stack.hostQueue(host) })));
    const victim = hosts.reduce((a, b) => ((load.get(a.queue ?? '') ?? 0) >= (load.get(b.queue ?? '') ?? 0) ? a : b));
    const orphaned = load.get(victim.queue ?? '') ?? 0;
    assert.ok(
      orphaned > 2 * SEATS_PER_HOST - (SESSIONS - orphaned),
      'more sessions lost than the others have room for',
    );
    const killedAt = Date.now();
    victim.host.process.kill('SIGKILL');
    await victim.host.exited;

    // The survivors fill up; the sessions left over wait for a seat, and say so.
    let lastSeen = '';
    await until(
      async () => {
        const running = [...(await openClientsByHost(stack.pool, 'hk-')).values()];
        lastSeen = `${running.join(', ')} running; ${JSON.stringify(await statusBreakdown(stack, workspaceId))}`;
        return running.length === 2 && running.every((n) => n === SEATS_PER_HOST);
      },
      180_000,
      'both surviving hosts full',
    ).catch((error: Error) => {
      throw new Error(`${error.message} (last seen: ${lastSeen})`);
    });
    // An account that waits for a seat says so once it has waited hostWaitNoticeMs (5 s).
    await until(
      async () => (await waitingForHostCount(workspaceId, killedAt)) || null,
      60_000,
      'accounts waiting for a host have an event that says so',
    );
    assert.equal(await failedCount(stack.pool, workspaceId), 0, 'none fails for lack of room');

    const restoredAt = Date.now();
    await stack.startHost();
    await until(() => settled(stack.pool, workspaceId, 'hk-', SESSIONS), 180_000, 'every session connected again');
    const placedInMs = Date.now() - restoredAt;

    assert.equal(await qrEventCount(stack.pool, workspaceId), qrEventsBefore, '0 rescans: no new QR');
    assert.equal(await failedCount(stack.pool, workspaceId), 0, '0 failed');
    assert.deepEqual(
      await overlappingOwners(stack.pool, 'hk-', { host: victim.queue ?? '', at: killedAt }),
      [],
      'no session ever ran on two hosts at once',
    );
    const away = await timeAwayFromConnected(stack.pool, workspaceId, killedAt);
    const waitedForSeat = await waitingForHostCount(workspaceId, killedAt);
    await assertInvariants(stack, workspaceId, accounts, receiver);
    process.stderr.write(
      `fault 9: ${orphaned} sessions lost with their host, ${waitedForSeat} waited for a seat; ` +
        `the new host placed them in ${placedInMs} ms; longest away from connected ${away.longestMs} ms\n`,
    );

    async function waitingForHostCount(workspace: string, sinceMs: number): Promise<number> {
      return stack.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(DISTINCT session_id)::int8 AS n FROM account_events
        WHERE workspace_id = ${workspace} AND type = 'waiting_for_host' AND occurred_at >= to_timestamp(${sinceMs / 1000})
      `);
    }
  });
});

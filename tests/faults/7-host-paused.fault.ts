import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { overlappingOwners, ownerHosts, qrEventCount } from '../../infra/fleet-audit.js';
import { faultStackFor, until } from './harness.js';
import { accountsShowingQr, assertInvariants, scan, waitAllConnected } from './workload.js';

const PAUSE_MS = 75_000;

describe(
  'fault 7: a host holding 50 sessions is paused (SIGSTOP) past the host timeout and its leases, then resumed',
  { timeout: 600_000 },
  () => {
    const fault = faultStackFor('host-paused');

    it('the other host takes every session without a scan, and no session ever had two owners', async () => {
      const { stack, receiver } = fault;
      const workspaceId = 'fault-host-paused';
      const accounts = await accountsShowingQr(fault, workspaceId, 50, 'hp');
      await scan(stack, accounts);
      await waitAllConnected(stack, workspaceId, accounts.size, 120_000);
      const qrEventsBefore = await qrEventCount(stack.pool, workspaceId);

      const second = await stack.startSecondWorker();
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      stack.pauseWorker();
      const pausedAt = Date.now();
      // Every session noticed its host was gone, moved, and connected again from its saved login.
      await until(async () => (await reconnectedCount(workspaceId)) === accounts.size, 240_000, 'all reconnected');
      const movedInMs = Date.now() - pausedAt;
      const remaining = PAUSE_MS - (Date.now() - pausedAt);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
      stack.resumeWorker();

      // Resumed, the paused host finds its leases gone and stops every client it still had.
      await until(async () => (await openClientsOfFirstHost()) === 0, 60_000, 'the paused host stopped its clients');
      assert.equal(await qrEventCount(stack.pool, workspaceId), qrEventsBefore, 'no new QR: nobody scanned again');
      assert.ok(second.process.exitCode === null, 'the second host runs');
      assert.ok(stack.alive().worker, 'the resumed host did not crash');

      assert.deepEqual(
        await overlappingOwners(stack.pool, 'hp-'),
        [],
        'no client ran under a valid lease while a newer one had started',
      );
      assert.equal(await ownerHosts(stack.pool, 'hp-'), 2, 'the sessions ran on the first host, then on the second');
      await assertInvariants(stack, workspaceId, accounts, receiver);
      process.stderr.write(`fault 7: every session connected on the other host ${movedInMs} ms after the pause\n`);

      async function reconnectedCount(workspace: string): Promise<number> {
        return stack.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
          SELECT count(*)::int8 AS n FROM whatsapp_accounts a
          WHERE a.workspace_id = ${workspace} AND a.status = 'connected'
            AND EXISTS (SELECT 1 FROM account_events e WHERE e.account_id = a.id AND e.type = 'disconnected')
        `);
      }
      async function openClientsOfFirstHost(): Promise<number> {
        return stack.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
          SELECT count(*)::int8 AS n FROM session_clients
          WHERE split_part(session_id, '.', 2) LIKE 'hp-%' AND ended_at IS NULL
            AND host = (SELECT host FROM session_clients WHERE split_part(session_id, '.', 2) LIKE 'hp-%' ORDER BY id LIMIT 1)
        `);
      }
    });
  },
);

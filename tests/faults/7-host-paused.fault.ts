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
      // Every session noticed its host was gone and moved: it runs on the other host, from its saved login. A move
      // back within the quiet window writes nothing, so the row's status alone cannot tell.
      await until(async () => (await movedCount(workspaceId)) === accounts.size, 240_000, 'all moved');
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

      /** Connected accounts whose running client (under a valid lease) is on a host other than the first. */
      async function movedCount(workspace: string): Promise<number> {
        return stack.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
          SELECT count(*)::int8 AS n FROM whatsapp_accounts a
          WHERE a.workspace_id = ${workspace} AND a.status = 'connected'
            AND EXISTS (
              SELECT 1 FROM session_clients c
              JOIN session_leases l ON l.session_id = c.session_id AND l.host = c.host AND l.epoch = c.epoch
              WHERE c.session_id = a.workspace_id || '.' || a.session_id AND c.ended_at IS NULL
                AND l.expires_at > now()
                AND c.host <> (SELECT host FROM session_clients WHERE split_part(session_id, '.', 2) LIKE 'hp-%' ORDER BY id LIMIT 1)
            )
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

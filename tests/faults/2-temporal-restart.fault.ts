import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { faultStackFor } from './harness.js';
import { accountsShowingQr, assertInvariants, connectAll, countWhere, firstConnections, scan } from './workload.js';

describe(
  'fault 2: the Temporal server is stopped and restarted on its database in the middle of 50 connections',
  { timeout: 600_000 },
  () => {
    const fault = faultStackFor('temporal-restart');

    it('every workflow resumes from the file: nothing lost, nothing backwards, no phone twice, every webhook delivered', async () => {
      const { stack, receiver } = fault;
      const workspaceId = 'fault-temporal-restart';
      const accounts = await accountsShowingQr(fault, workspaceId, 50, 'tr');

      const scanning = scan(stack, accounts);
      await firstConnections(stack, workspaceId, 5);
      await stack.stopTemporal();
      const connectedWhileDown = await countWhere(stack, workspaceId, 'connected');
      assert.ok(
        connectedWhileDown < accounts.size,
        `Temporal stopped in the middle (${connectedWhileDown} of ${accounts.size} connected)`,
      );
      // The phones keep scanning while orchestration is down: the API and PostgreSQL still take their actions.
      await scanning;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const readyWhileDown = await fetch(`${stack.apiUrl}/ready`);
      assert.equal(readyWhileDown.status, 503, '/ready reports Temporal down');
      await stack.startTemporal();

      await connectAll(stack, workspaceId, accounts, 240_000);
      await assertInvariants(stack, workspaceId, accounts, receiver);
      assert.deepEqual(stack.alive(), { worker: true, api: true }, 'the worker and the API rode out the outage');
      assert.equal((await fetch(`${stack.apiUrl}/ready`)).status, 200);
    });
  },
);

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { faultStackFor } from './harness.js';
import { accountsShowingQr, assertInvariants, connectAll, countWhere, firstConnections, scan } from './workload.js';

describe('fault 1: the worker process is SIGKILLed in the middle of 50 connections', { timeout: 600_000 }, () => {
  const fault = faultStackFor('worker-sigkill');

  it('a new worker finishes them: nothing lost, nothing backwards, no phone twice, every webhook delivered', async () => {
    const { stack, receiver } = fault;
    const workspaceId = 'fault-worker-sigkill';
    const accounts = await accountsShowingQr(fault, workspaceId, 50, 'wk');

    const scanning = scan(stack, accounts);
    await firstConnections(stack, workspaceId, 5);
    await stack.killWorker();
    const connectedWhenKilled = await countWhere(stack, workspaceId, 'connected');
    await scanning;
    assert.ok(
      connectedWhenKilled < accounts.size,
      `the worker died in the middle (${connectedWhenKilled} of ${accounts.size} connected)`,
    );

    await stack.startWorker();
    await connectAll(stack, workspaceId, accounts, 150_000);
    await assertInvariants(stack, workspaceId, accounts, receiver);
    assert.deepEqual(stack.alive(), { worker: true, api: true });
  });
});

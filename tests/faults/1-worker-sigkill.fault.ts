import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { faultStackFor, until } from './harness.js';
import {
  assertInvariants,
  connectAll,
  countWhere,
  createAccounts,
  scan,
  waitForQrs,
  workspaceWithWebhook,
} from './workload.js';

describe('fault 1: the worker process is SIGKILLed in the middle of 50 connections', { timeout: 600_000 }, () => {
  const fault = faultStackFor('worker-sigkill');

  it('a new worker finishes them: nothing lost, nothing backwards, no phone twice, every webhook delivered', async () => {
    const { stack, receiver } = fault;
    const workspaceId = 'fault-worker-sigkill';
    await workspaceWithWebhook(stack, workspaceId, receiver);
    const accounts = await createAccounts(stack, workspaceId, 50, 'wk');
    await waitForQrs(stack, workspaceId, accounts.size);

    const scanning = scan(stack, accounts);
    await until(async () => (await countWhere(stack, workspaceId, 'connected')) >= 5, 120_000, 'the first connections');
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

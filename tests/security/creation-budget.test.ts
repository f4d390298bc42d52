import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

/**
 * Each creation may start a Chromium, so creations have a per-key budget (30 a minute by default). A create repeated
 * with the same sessionId (the caller's idempotency key) creates nothing and spends none of it.
 */
describe('the account creation budget counts creations only', () => {
  // No worker polls its task queue: the accounts' workflows wait, only their rows and answers matter here.
  const api = useTestApi({ liveAccountLimit: 200 });

  const create = (key: string, workspaceId: string, session: string) =>
    api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId: `${workspaceId}-${session}` },
    });

  it('40 repeats of one create answer one 201 and 39 × 200, never 429; new creations past the budget get 429', async () => {
    const workspaceId = uniqueId('ws-retry');
    const key = await api.keyFor(workspaceId);
    const statuses: number[] = [];
    for (let n = 0; n < 40; n++) statuses.push((await create(key, workspaceId, 'same')).statusCode);
    assert.deepEqual(statuses, [201, ...Array<number>(39).fill(200)]);

    for (let n = 1; n < 30; n++) assert.equal((await create(key, workspaceId, `new${n}`)).statusCode, 201);
    const past = await create(key, workspaceId, 'new30');
    assert.equal(past.statusCode, 429, past.body);
    assert.equal(past.json().code, 'account_creation_rate_limited');
    assert.equal((await create(key, workspaceId, 'same')).statusCode, 200, 'a repeat still answers once it is spent');
  });

  it('concurrent creates cannot overshoot the budget, and concurrent repeats spend one creation', async () => {
    const workspaceId = uniqueId('ws-burst');
    const key = await api.keyFor(workspaceId);
    const repeats = await Promise.all(Array.from({ length: 20 }, () => create(key, workspaceId, 'one')));
    assert.deepEqual(repeats.map((answer) => answer.statusCode).sort(), [...Array<number>(19).fill(200), 201]);
    const burst = await Promise.all(Array.from({ length: 40 }, (_, n) => create(key, workspaceId, `b${n}`)));
    const counts = new Map<number, number>();
    for (const answer of burst) counts.set(answer.statusCode, (counts.get(answer.statusCode) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(counts), { 201: 29, 429: 11 });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

/** Each live account may hold a Chromium of 200-400 MB: one key cannot keep thousands alive. */
describe('live accounts per workspace', () => {
  // No worker polls its task queue: the accounts' workflows wait, their rows are what is counted.
  const api = useTestApi({ liveAccountLimit: 3 });

  // Each workspace's session ids carry its name, so a failure names the workspace it came from.
  const create = (workspaceId: string, session: string) =>
    api.as(api.adminKey, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId: `${workspaceId}-${session}` },
    });

  it('a workspace at its limit gets 409 account_limit_reached; the same sessionId again still answers', async () => {
    const workspaceId = uniqueId('ws-limit');
    for (const n of [1, 2, 3]) assert.equal((await create(workspaceId, `s${n}`)).statusCode, 201);
    const fourth = await create(workspaceId, 's4');
    assert.equal(fourth.statusCode, 409, fourth.body);
    assert.equal(fourth.json().code, 'account_limit_reached');
    assert.equal(fourth.json().limit, 3);
    assert.equal((await create(workspaceId, 's2')).statusCode, 200, 'an existing account is not a new one');
  });

  it('concurrent creates cannot overshoot the limit', async () => {
    const workspaceId = uniqueId('ws-race');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => create(workspaceId, `r${n}`)));
    const statuses = answers.map((answer) => answer.statusCode).sort();
    assert.deepEqual(statuses, [201, 201, 201, 409, 409, 409, 409, 409, 409, 409]);
  });

  it("an operator sets a workspace's own limit", async () => {
    const workspaceId = uniqueId('ws-raised');
    for (const n of [1, 2, 3]) await create(workspaceId, `s${n}`);
    const raised = await api.as(api.adminKey, {
      method: 'PUT',
      url: `/v1/admin/workspaces/${workspaceId}/limits`,
      payload: { maxLiveAccounts: 4 },
    });
    assert.deepEqual(raised.json(), { workspaceId, maxLiveAccounts: 4 });
    assert.equal((await create(workspaceId, 's4')).statusCode, 201);
    assert.equal((await create(workspaceId, 's5')).statusCode, 409);
    const workspaceKey = await api.keyFor(workspaceId);
    const ownRaise = await api.as(workspaceKey, {
      method: 'PUT',
      url: `/v1/admin/workspaces/${workspaceId}/limits`,
      payload: { maxLiveAccounts: 1000 },
    });
    assert.equal(ownRaise.statusCode, 404, 'a workspace key cannot raise its own limit');
  });
});

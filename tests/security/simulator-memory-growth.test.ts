import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

/** What one session's browser may be made to hold, all calls together (engine/phone/actions.ts). */
const GROW_MEMORY_MAX_MEGABYTES = 2048;

describe("the simulator's grow_memory: bounded per session", { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  before(async () => {
    api = await buildTestApi(stack.pool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
  });
  after(async () => {
    await api?.app.close();
  });

  const grow = (sessionId: string, megabytes: number) =>
    api.as(api.adminKey, {
      method: 'POST',
      url: `/v1/simulator/sessions/${sessionId}/grow-memory`,
      payload: { megabytes },
    });

  it('one call above the bound, or calls that add up past it, get a 400 with a stable code', async () => {
    const { sessionId } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);

    const tooMuchAtOnce = await grow(sessionId, GROW_MEMORY_MAX_MEGABYTES + 1);
    assert.equal(tooMuchAtOnce.statusCode, 400, tooMuchAtOnce.body);
    assert.equal(tooMuchAtOnce.json<{ code: string }>().code, 'validation_failed');

    const half = GROW_MEMORY_MAX_MEGABYTES / 2;
    assert.equal((await grow(sessionId, half)).statusCode, 200);
    assert.equal((await grow(sessionId, half)).statusCode, 200);
    const past = await grow(sessionId, 1);
    assert.equal(past.statusCode, 400, past.body);
    const problem = past.json<{ code: string; title: string; detail: string }>();
    assert.equal(problem.code, 'memory_growth_limit');
    assert.equal(problem.title, 'Bad Request');
    assert.match(problem.detail, new RegExp(`bound of ${GROW_MEMORY_MAX_MEGABYTES} MB`));
  });
});

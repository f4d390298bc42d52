import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError, type WorkflowHandle } from '@temporalio/client';
import { AccountUpdateUnavailable, executeAccountUpdate } from '../../api/account-update.js';
import { requestPairingCodeUpdate, type Addressed } from '../../workflows/messages.js';

const PAIRING_REQUEST: [Addressed<{ phoneNumber: string }>] = [
  { workflowId: 'account-scripted', phoneNumber: '6281234567890' },
];

/** What the server sends when the workflow task carrying an update failed (seen under the fuzzer's load). */
const givenBack = (code: number) =>
  new ServiceError('Workflow Update failed', {
    cause: Object.assign(
      new Error('Unable to perform workflow execution update due to unexpected workflow task failure.'),
      {
        code,
        details: 'Unable to perform workflow execution update due to unexpected workflow task failure.',
        metadata: {},
      },
    ),
  });

/** A handle whose updates answer from a script: each attempt takes the next entry (an error is thrown). */
function scriptedHandle(script: Array<Error | { code: string }>) {
  const updateIds: Array<string | undefined> = [];
  const handle = {
    executeUpdate: async (_update: unknown, options: { updateId?: string }) => {
      updateIds.push(options.updateId);
      const next = script.shift();
      if (!next) throw new Error('script exhausted');
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as WorkflowHandle;
  return { handle, updateIds };
}

describe('an account update the server gives back unrun', () => {
  it('is sent again under the same update id, so it runs once, and its answer is returned', async () => {
    const { handle, updateIds } = scriptedHandle([givenBack(9), givenBack(14), { code: '1234-5678' }]);
    const answer = await executeAccountUpdate(handle, requestPairingCodeUpdate, PAIRING_REQUEST);
    assert.deepEqual(answer, { code: '1234-5678' });
    assert.equal(updateIds.length, 3);
    assert.equal(new Set(updateIds).size, 1, 'one update id for every attempt');
    assert.ok(updateIds[0]);
  });

  it('ends as unavailable after a bounded number of attempts', async () => {
    const { handle, updateIds } = scriptedHandle([
      givenBack(9),
      givenBack(9),
      givenBack(9),
      givenBack(9),
      givenBack(9),
    ]);
    await assert.rejects(
      executeAccountUpdate(handle, requestPairingCodeUpdate, PAIRING_REQUEST),
      AccountUpdateUnavailable,
    );
    assert.equal(updateIds.length, 4);
  });

  it('is not sent again for any other failure', async () => {
    const refused = givenBack(3); // INVALID_ARGUMENT: the request itself is wrong
    const { handle, updateIds } = scriptedHandle([refused]);
    await assert.rejects(
      executeAccountUpdate(handle, requestPairingCodeUpdate, PAIRING_REQUEST),
      (error) => error === refused,
    );
    assert.equal(updateIds.length, 1);
  });
});

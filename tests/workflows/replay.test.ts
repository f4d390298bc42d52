import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';

/**
 * Replays a recorded history of the happy path (create, QR, scan, connected, delete) against today's workflow code:
 * a change that would break running workflows (non-determinism) fails here, not in production.
 * Re-record after an intended change: run the lifecycle test and copy test-output/happy-path-history.json here.
 */
describe('workflow determinism', () => {
  it('replays the recorded happy-path history', async () => {
    const history = historyFromJSON(JSON.parse(await readFile(new URL('../fixtures/account-connection-happy-path.history.json', import.meta.url), 'utf8')));
    await Worker.runReplayHistory(
      { workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)) },
      history,
      'account-happy-path',
    );
  });
});

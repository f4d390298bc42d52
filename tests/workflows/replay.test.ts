import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { parseKeyring } from '../../lib/keyring.js';
import { encryptingDataConverter } from '../../lib/payload-encryption.js';
import { fixtureKeys } from '../helpers/context.js';

/**
 * Replays recorded histories against today's workflow code: a change that would break running workflows
 * (non-determinism) fails here, not in production. No release has run these workflows yet, so the fixtures are the
 * histories of today's code: after an intended change, record them again (the lifecycle test writes
 * test-output/happy-path-history.json, the pairing race test test-output/pairing-race-*-history.json; copy them over
 * the fixtures). From the first tagged release on, the fixtures of every release that running workflows may still hold
 * stay here, and an incompatible change is versioned instead (docs/workflow-releases.md).
 */
const FIXTURES = [
  {
    name: 'the happy path: QR, scan, ready with the phone number, connected, deleted',
    file: 'account-connection-happy-path.history.json',
  },
  {
    name: 'pairing-code updates among QR refreshes, a pairing-code login, connected, deleted',
    file: 'account-connection-pairing-race.history.json',
  },
];

describe('workflow determinism', () => {
  for (const fixture of FIXTURES) {
    it(`replays ${fixture.name}`, async () => {
      const history = historyFromJSON(
        JSON.parse(await readFile(new URL(`../fixtures/${fixture.file}`, import.meta.url), 'utf8')),
      );
      // Replayed under the id it ran under: the workflow refuses every signal that names another.
      const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
      assert.ok(workflowId, `${fixture.file} names its workflow`);
      await Worker.runReplayHistory(
        {
          workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
          dataConverter: encryptingDataConverter(parseKeyring(await fixtureKeys())),
        },
        history,
        workflowId,
      );
    });
  }
});

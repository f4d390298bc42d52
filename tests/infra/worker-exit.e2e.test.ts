import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveTemporalCli } from '../../infra/temporal-cli.js';
import { startTemporalDevServer } from '../../infra/temporal-dev-server.js';
import { findFreePort } from '../../infra/ports.js';
import { testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

/** workers/main.ts: a drain's hand-over may take HOST_DRAIN_GRACE_MS, the workers' own shutdown 20 s more. */
const DRAIN_GRACE_MS = 2_000;
const WORKER_STOP_GRACE_MS = 20_000;

describe('a worker whose Temporal is gone', { timeout: 180_000 }, () => {
  it('still exits on SIGTERM, within its drain grace and shutdown bound, instead of waiting on polls nobody answers', async () => {
    const dataDir = join(testStackEnv().dataDir, uniqueId('temporal-gone'));
    const temporal = await startTemporalDevServer({
      cliPath: await resolveTemporalCli(testLog),
      dbFile: join(dataDir, 'temporal.db'),
      port: await findFreePort(),
      uiPort: null,
      logFile: join(dataDir, 'temporal.log'),
      namespace: 'default',
      log: testLog,
    });
    const { worker, logFile } = await startTestWorker({
      WA_ENGINE: 'simulated',
      TEMPORAL_ADDRESS: temporal.address,
      HOST_DRAIN_GRACE_MS: String(DRAIN_GRACE_MS),
    });
    try {
      await temporal.child.stop('SIGKILL');
      // The worker's polls now fail and retry; give them a moment to be in that state.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const signalledAt = Date.now();
      worker.process.kill('SIGTERM');
      const exit = await Promise.race([
        worker.exited,
        new Promise((resolve) =>
          setTimeout(() => resolve('still running'), DRAIN_GRACE_MS + WORKER_STOP_GRACE_MS + 15_000),
        ),
      ]);
      const tookMs = Date.now() - signalledAt;
      assert.notEqual(exit, 'still running', `the worker ignored SIGTERM; see ${logFile}`);
      assert.ok(tookMs <= DRAIN_GRACE_MS + WORKER_STOP_GRACE_MS + 15_000, `exited after ${tookMs} ms`);
      assert.match(await readFile(logFile, 'utf8'), /draining: no new sessions/);
    } finally {
      await worker.stop('SIGKILL');
      await temporal.stop();
    }
  });
});

import { join } from 'node:path';
import type { ChildHandle } from '../../infra/child-process.js';
import { startServiceProcess } from '../../infra/service-processes.js';
import { waitForWorkflowPoller } from '../../infra/wait-for-worker.js';
import { testStackEnv, uniqueId } from './context.js';

/** A real worker process (the same entry point production runs) on a task queue of the test's own. */
export async function startTestWorker(extraEnv: NodeJS.ProcessEnv = {}, taskQueue = uniqueId('tq')): Promise<{ worker: ChildHandle; taskQueue: string; logFile: string }> {
  const { databaseUrl, temporalAddress, outputDir } = testStackEnv();
  const logFile = join(outputDir, `worker-${taskQueue}-${Date.now()}.log`);
  const worker = startServiceProcess(
    'worker',
    { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TASK_QUEUE: taskQueue, LOG_LEVEL: 'info', ...extraEnv },
    logFile,
  );
  await Promise.race([
    waitForWorkflowPoller(temporalAddress, 'default', taskQueue, 120_000),
    worker.exited.then((code) => { throw new Error(`worker exited with ${code} before polling; see ${outputDir}`); }),
  ]);
  return { worker, taskQueue, logFile };
}

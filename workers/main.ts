import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createAccountStoreActivities, createHostActivities, createHostQueueActivities } from '../activities/index.js';
import { readProcessEnv } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { exitWithParent } from '../lib/exit-with-parent.js';
import { createLogger } from '../lib/logger.js';
import { temporalLoggerFrom } from '../lib/temporal-logger.js';
import { hostTaskQueueName } from './task-queues.js';

/**
 * A worker process: the shared queue (workflows, database activities) and this process's own host queue
 * (activities that touch its WhatsApp clients). SIGTERM/SIGINT drain both before the process exits.
 */
async function main() {
  const log = createLogger('worker');
  const env = readProcessEnv();
  Runtime.install({ logger: temporalLoggerFrom(log), shutdownSignals: ['SIGINT', 'SIGTERM'] });

  await migrate(env.DATABASE_URL, log);
  const pool = await createDatabasePool(env.DATABASE_URL);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const hostTaskQueue = hostTaskQueueName();

  const sharedWorker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: { ...createAccountStoreActivities(pool), ...createHostActivities(hostTaskQueue) },
  });
  const hostWorker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: hostTaskQueue,
    activities: createHostQueueActivities(hostTaskQueue),
  });
  exitWithParent(() => {
    log.warn('supervisor is gone; shutting down');
    sharedWorker.shutdown();
    hostWorker.shutdown();
  });

  log.info({ taskQueue: env.TASK_QUEUE, hostTaskQueue }, 'worker running');
  try {
    await Promise.all([sharedWorker.run(), hostWorker.run()]);
  } finally {
    await connection.close();
    await pool.end();
    log.info('worker stopped');
  }
}

main().catch((error: unknown) => {
  createLogger('worker').fatal({ err: error }, 'worker failed');
  process.exit(1);
});

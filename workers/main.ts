import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { temporalTlsFromEnv } from '../lib/temporal-tls.js';
import { ensureWebhookOutboxSchedule } from './webhook-outbox-schedule.js';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import {
  createAccountStoreActivities,
  createEngineSessionActivities,
  createHostActivities,
  createWebhookActivities,
} from '../activities/index.js';
import { readProcessEnv } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { createEngine } from '../engine/create-engine.js';
import { SessionHost } from '../engine/session-host.js';
import { exitWithParent } from '../lib/exit-with-parent.js';
import { createLogger } from '../lib/logger.js';
import { dataConverterFromEnv } from '../lib/payload-encryption.js';
import { temporalLoggerFrom } from '../lib/temporal-logger.js';
import { webhookPolicyFromEnv } from '../webhooks/network-policy.js';
import { signalAccountWorkflow } from './engine-event-sink.js';
import { hostTaskQueueName } from './task-queues.js';

/**
 * A worker process: the shared queue (workflows, database activities) and this process's own host queue
 * (activities that touch its WhatsApp clients). SIGTERM/SIGINT drain both, then stop the clients (their auth stays
 * saved, so other hosts resume them without a scan).
 */
async function main() {
  const log = createLogger('worker');
  const env = readProcessEnv();
  Runtime.install({ logger: temporalLoggerFrom(log), shutdownSignals: ['SIGINT', 'SIGTERM'] });
  // One session's stray failure (a browser callback, a timer) is logged; it never takes the other sessions down.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection; the worker goes on'));

  await migrate(env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL, log);
  const pool = await createDatabasePool(env.DATABASE_URL, { maximumPoolSize: 20 });
  const tls = temporalTlsFromEnv(env);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS, ...(tls ? { tls } : {}) });
  // The engine's events reach their workflows as signals through a client on the workers' own native connection:
  // a second (JavaScript gRPC) connection would hold buffers of its own in every worker process.
  const client = new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFromEnv(env),
  });
  const engine = await createEngine(env, pool, log);
  const sessionHost = new SessionHost(engine, signalAccountWorkflow(client), log);
  const hostTaskQueue = hostTaskQueueName();

  const sharedWorker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TASK_QUEUE,
    dataConverter: dataConverterFromEnv(env),
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: {
      ...createAccountStoreActivities(pool),
      ...createHostActivities(hostTaskQueue),
      ...createWebhookActivities(pool, webhookPolicyFromEnv(env.WEBHOOK_ALLOWED_HOSTS)),
    },
  });
  const hostWorker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: hostTaskQueue,
    dataConverter: dataConverterFromEnv(env),
    activities: createEngineSessionActivities(sessionHost),
    // Every session holds one long-running watch activity on its host.
    maxConcurrentActivityTaskExecutions: 5_000,
  });
  exitWithParent(() => {
    log.warn('supervisor is gone; shutting down');
    sharedWorker.shutdown();
    hostWorker.shutdown();
  });

  await ensureWebhookOutboxSchedule(client, env.TASK_QUEUE, log);
  log.info({ taskQueue: env.TASK_QUEUE, hostTaskQueue, engine: engine.name }, 'worker running');
  try {
    await Promise.all([sharedWorker.run(), hostWorker.run()]);
  } finally {
    await sessionHost.stopAll();
    await engine.close();
    await connection.close();
    await pool.end();
    log.info('worker stopped');
  }
}

main().catch((error: unknown) => {
  createLogger('worker').fatal({ err: error }, 'worker failed');
  process.exit(1);
});

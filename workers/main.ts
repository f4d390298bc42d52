import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import {
  createAccountSettingsActivities,
  createAccountStoreActivities,
  createEngineSessionActivities,
  createPlacementActivities,
  createSessionLeaseActivities,
  createWebBuildCanaryActivities,
  createWebhookActivities,
  workerAccountSettings,
} from '../activities/index.js';
import { readProcessEnv } from '../config/env.js';
import { serviceLogger } from '../config/logging.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { accountStartSettings } from '../db/account-start-settings.js';
import { keepScreenshot } from '../db/session-screenshots.js';
import { createEngine } from '../engine/create-engine.js';
import { exitWithin } from '../lib/exit-deadline.js';
import { exitWithParent } from '../lib/exit-with-parent.js';
import { parseKeyring } from '../lib/keyring.js';
import { dataConverterFromEnv } from '../lib/payload-encryption.js';
import { temporalLoggerFrom } from '../lib/temporal-logger.js';
import { temporalTlsFromEnv } from '../lib/temporal-tls.js';
import { startTracing } from '../lib/tracing.js';
import { webhookPolicyFromEnv } from '../webhooks/network-policy.js';
import { placementTaskQueue } from '../workflows/ids.js';
import { drainOnSignals, shutdownWorkers, WORKER_STOP_GRACE_MS } from './host-drain.js';
import { HostRuntime } from './host-runtime.js';
import { gatedSlots } from './task-gate.js';
import { refuseUnreadableArguments } from './unreadable-arguments.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';

/** The shared worker's concurrent workflow tasks and activities: the SDK's own defaults, now behind a gate. */
const SHARED_WORKFLOW_TASK_SLOTS = 40;
const SHARED_ACTIVITY_SLOTS = 100;

/**
 * A worker process: the shared queue (workflows, database activities), the placement queue (claims for a host, polled
 * only with a free seat) and this process's own host queue (activities that touch its WhatsApp clients), around the
 * host runtime (host-runtime.ts). SIGTERM or SIGINT drains the host (host-drain.ts).
 */
async function main() {
  const log = serviceLogger('worker');
  const env = readProcessEnv();
  const parent = exitWithParent(env.WA_SUPERVISED);
  // The signals are this process's own to handle: a drain comes before the workers shut down.
  Runtime.install({ logger: temporalLoggerFrom(log), shutdownSignals: [] });
  // One session's stray failure (a browser callback, a timer) is logged; it never takes the other sessions down.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection; the worker goes on'));

  await migrate(env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL, log);
  const pool = await createDatabasePool(env.DATABASE_URL, { maximumPoolSize: 20, taskQueue: env.TASK_QUEUE });
  const tls = temporalTlsFromEnv(env);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS, ...(tls ? { tls } : {}) });
  // The engine's events reach their workflows as signals through a client on the workers' own native connection:
  // a second (JavaScript gRPC) connection would hold buffers of its own in every worker process.
  const tracing = startTracing({
    endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: env.OTEL_SERVICE_NAME ?? 'wa-connect-worker',
  });
  const plugins = tracing ? [tracing.temporalPlugin] : [];
  const client = new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFromEnv(env),
    plugins,
  });
  const keyring = parseKeyring(env.ENCRYPTION_KEYS);
  const engine = await createEngine(env, pool, log);
  const runtime = new HostRuntime({ env, engine, pool, client, log });
  const { capacity, leases, sessions, seats } = runtime;
  runtime.start();

  const sharedWorker = await Worker.create({
    connection,
    plugins,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TASK_QUEUE,
    dataConverter: dataConverterFromEnv(env),
    interceptors: { activity: [refuseUnreadableArguments] },
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: {
      ...createAccountSettingsActivities(workerAccountSettings(env.ACCOUNT_TIMINGS, env.ACCOUNT_SETTINGS_DIR)),
      ...createAccountStoreActivities(pool),
      ...createSessionLeaseActivities(pool),
      ...createWebhookActivities(pool, keyring, webhookPolicyFromEnv(env.WEBHOOK_ALLOWED_HOSTS)),
      ...createWebBuildCanaryActivities(pool),
    },
    // Workflow tasks and these activities all need the database: a host it does not answer takes none of them.
    tuner: {
      workflowTaskSlotSupplier: gatedSlots(SHARED_WORKFLOW_TASK_SLOTS, () => leases.reachesLeaseStore()),
      activityTaskSlotSupplier: gatedSlots(SHARED_ACTIVITY_SLOTS, () => leases.reachesLeaseStore()),
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: SHARED_ACTIVITY_SLOTS },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  });
  const hostWorker = await Worker.create({
    connection,
    plugins,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: runtime.taskQueue,
    dataConverter: dataConverterFromEnv(env),
    interceptors: { activity: [refuseUnreadableArguments] },
    activities: createEngineSessionActivities(
      sessions,
      capacity,
      (sessionId) => accountStartSettings(pool, keyring, sessionId, env.TASK_QUEUE),
      (screenshot) => keepScreenshot(pool, screenshot),
    ),
    // Every session holds one long-running watch activity on its host, beside a start or an extraction at times.
    maxConcurrentActivityTaskExecutions: seats * 2 + 50,
  });
  // Polls for claims only while this host has a free seat: the slot supplier holds the poll back when it is full.
  const placementWorker = await Worker.create({
    connection,
    plugins,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: placementTaskQueue(env.TASK_QUEUE),
    dataConverter: dataConverterFromEnv(env),
    interceptors: { activity: [refuseUnreadableArguments] },
    activities: createPlacementActivities(runtime.taskQueue, capacity),
    tuner: {
      activityTaskSlotSupplier: capacity.slotSupplier(),
      workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  });
  const workers = { shared: sharedWorker, sharedRun: sharedWorker.run(), placement: placementWorker, host: hostWorker };
  // The one place webhook deliveries start: the outbox, woken by each new event.
  const webhooks = new WebhookDispatcher(pool, env.DATABASE_URL, client, env.TASK_QUEUE, log);
  await webhooks.start();
  drainOnSignals(runtime, workers, env.HOST_DRAIN_GRACE_MS, log, () => webhooks.stop());
  parent.whenOrphaned(() => {
    log.warn('supervisor is gone; shutting down');
    void webhooks.stop();
    exitWithin(WORKER_STOP_GRACE_MS, log, 'supervisor is gone');
    shutdownWorkers(workers);
  });

  log.info(
    { taskQueue: env.TASK_QUEUE, hostTaskQueue: runtime.taskQueue, engine: engine.name, seats },
    'worker running',
  );
  try {
    await Promise.all([workers.sharedRun, hostWorker.run(), placementWorker.run()]);
  } finally {
    await webhooks.stop();
    await runtime.stop();
    await connection.close();
    // A connection that died under the pool (a database restart) stays in it, and ending it throws: nothing is lost.
    await pool.end().catch((error: unknown) => log.warn({ err: error }, 'a database connection was gone at shutdown'));
    await tracing?.shutdown().catch(() => undefined);
    log.info('worker stopped');
  }
}

main().catch((error: unknown) => {
  serviceLogger('worker').fatal({ err: error }, 'worker failed');
  process.exit(1);
});

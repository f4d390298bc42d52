import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { temporalTlsFromEnv } from '../lib/temporal-tls.js';
import { ensureWebhookOutboxSchedule } from './webhook-outbox-schedule.js';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import {
  createAccountSettingsActivities,
  createAccountStoreActivities,
  createEngineSessionActivities,
  createPlacementActivities,
  createWebhookActivities,
  workerAccountSettings,
} from '../activities/index.js';
import { readProcessEnv } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { createEngine } from '../engine/create-engine.js';
import { SessionHost } from '../engine/session-host.js';
import { exitWithin } from '../lib/exit-deadline.js';
import { exitWithParent } from '../lib/exit-with-parent.js';
import { createLogger } from '../lib/logger.js';
import { parseKeyring } from '../lib/keyring.js';
import { dataConverterFromEnv } from '../lib/payload-encryption.js';
import { temporalLoggerFrom } from '../lib/temporal-logger.js';
import { webhookPolicyFromEnv } from '../webhooks/network-policy.js';
import { signalAccountWorkflow, signalHostGone } from './engine-event-sink.js';
import { placementTaskQueue } from '../workflows/ids.js';
import { HostLeases, leaseTimings } from '../engine/host-leases.js';
import { gatedSlots } from './task-gate.js';
import { SessionUpkeep } from '../engine/session-upkeep.js';
import { recordSightings } from '../db/session-sightings.js';
import { accountWebVersionPin } from '../db/web-version-pins.js';
import { HostCapacity, hostSeats, hostStartsPerSecond } from './host-capacity.js';
import { hostTaskQueueName } from './task-queues.js';
import { refuseUnreadableArguments } from './unreadable-arguments.js';

/**
 * A worker process: the shared queue (workflows, database activities), the placement queue (claims for a host, polled
 * only with a free seat) and this process's own host queue (activities that touch its WhatsApp clients). SIGTERM or
 * SIGINT drains the host: it stops taking sessions, hands its sessions to other hosts at a bounded rate (their logins
 * stay saved, so the others resume them without a scan), and exits when it holds none or after the grace period.
 */
/** After its sessions are handed over, how long the worker's own shutdown may take before it exits regardless. */
const WORKER_STOP_GRACE_MS = 20_000;
/** The shared worker's concurrent workflow tasks and activities: the SDK's own defaults, now behind a gate. */
const SHARED_WORKFLOW_TASK_SLOTS = 40;
const SHARED_ACTIVITY_SLOTS = 100;

async function main() {
  const log = createLogger('worker');
  const env = readProcessEnv();
  // The signals are this process's own to handle: a drain comes before the workers shut down.
  Runtime.install({ logger: temporalLoggerFrom(log), shutdownSignals: [] });
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
  const hostTaskQueue = hostTaskQueueName();
  const seats = hostSeats({
    setting: env.HOST_SESSION_CAPACITY,
    engine: env.WA_ENGINE,
    sessionMemoryBudgetMb: env.SESSION_MEMORY_BUDGET_MB,
  });
  // Each needs the other: the capacity counts the host's sessions, the host says when a seat frees.
  const capacity = new HostCapacity(seats, () => sessionHost.size, {
    startsPerSecond: hostStartsPerSecond(env.HOST_SESSION_STARTS_PER_SECOND, env.WA_ENGINE),
    canTakeSessions: () => leases.reachesLeaseStore(),
  });
  // One host per session: a client runs only under its lease; a session taken over, or every session when the
  // leases could not be renewed in time, stops here.
  const leases = new HostLeases(
    pool,
    hostTaskQueue,
    async (sessionIds) => {
      for (const sessionId of sessionIds) await sessionHost.stop(sessionId);
    },
    log,
    leaseTimings(env.SESSION_LEASE_TTL_MS),
    signalHostGone(client),
  );
  const sessionHost = new SessionHost(engine, signalAccountWorkflow(client), log, () => capacity.changed(), leases);
  leases.start();
  const upkeep = new SessionUpkeep(
    sessionHost,
    (sightings) => recordSightings(pool, sightings),
    {
      everyMs: env.ENGINE_CHECK_EVERY_MS,
      answerWithinMs: env.ENGINE_CHECK_TIMEOUT_MS,
      missesBeforeRestart: env.ENGINE_CHECK_MISSES,
      memoryLimitBytes: env.ENGINE_MEMORY_LIMIT_MB > 0 ? env.ENGINE_MEMORY_LIMIT_MB * 1024 * 1024 : null,
      quietForMs: env.ENGINE_RECYCLE_QUIET_MS,
    },
    log,
  );
  upkeep.start();

  const sharedWorker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TASK_QUEUE,
    dataConverter: dataConverterFromEnv(env),
    interceptors: { activity: [refuseUnreadableArguments] },
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: {
      ...createAccountSettingsActivities(workerAccountSettings(env.ACCOUNT_TIMINGS, env.ACCOUNT_SETTINGS_DIR)),
      ...createAccountStoreActivities(pool),
      ...createWebhookActivities(
        pool,
        parseKeyring(env.ENCRYPTION_KEYS),
        webhookPolicyFromEnv(env.WEBHOOK_ALLOWED_HOSTS),
      ),
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
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: hostTaskQueue,
    dataConverter: dataConverterFromEnv(env),
    interceptors: { activity: [refuseUnreadableArguments] },
    activities: createEngineSessionActivities(sessionHost, capacity, (sessionId) =>
      accountWebVersionPin(pool, sessionId),
    ),
    // Every session holds one long-running watch activity on its host, beside a start or an extraction at times.
    maxConcurrentActivityTaskExecutions: seats * 2 + 50,
  });
  // Polls for claims only while this host has a free seat: the slot supplier holds the poll back when it is full.
  const placementWorker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: placementTaskQueue(env.TASK_QUEUE),
    dataConverter: dataConverterFromEnv(env),
    interceptors: { activity: [refuseUnreadableArguments] },
    activities: createPlacementActivities(hostTaskQueue, capacity),
    tuner: {
      activityTaskSlotSupplier: capacity.slotSupplier(),
      workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  });
  const shutdownWorkers = () => {
    for (const worker of [placementWorker, sharedWorker, hostWorker]) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  };
  const sharedRun = sharedWorker.run();
  let draining = false;
  const drain = async (signal: string) => {
    if (draining) {
      log.warn({ signal }, 'second signal: stopping now');
      return shutdownWorkers();
    }
    draining = true;
    void upkeep.stop();
    log.info({ signal, sessions: sessionHost.size }, 'draining: no new sessions; handing this host’s sessions over');
    // The hand-over is bounded by its grace; the workers' own shutdown is bounded here (a Temporal that is gone
    // never answers their last polls).
    exitWithin(env.HOST_DRAIN_GRACE_MS + WORKER_STOP_GRACE_MS, log, signal);
    placementWorker.shutdown();
    // Workflows this host has cached would have their next tasks sent to its own (sticky) queue, and wait Temporal's
    // sticky timeout once it is gone. Its workflow worker stops first: Temporal then sends their tasks to the shared
    // queue, where the other hosts take them at once, and the hand-over below moves sessions without that wait.
    // Its last tasks finish on their own; the sessions need not wait for a poll or a webhook attempt to end.
    sharedWorker.shutdown();
    await Promise.race([sharedRun, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    const tellOwner = signalHostGone(client);
    const handed = await sessionHost.handOver({
      perSecond: hostStartsPerSecond(env.HOST_SESSION_STARTS_PER_SECOND, env.WA_ENGINE),
      graceMs: env.HOST_DRAIN_GRACE_MS,
      tellOwner: (sessionId) => tellOwner(sessionId, hostTaskQueue),
    });
    log.info(handed, 'drained');
    shutdownWorkers();
  };
  process.on('SIGTERM', () => void drain('SIGTERM'));
  process.on('SIGINT', () => void drain('SIGINT'));
  exitWithParent(() => {
    log.warn('supervisor is gone; shutting down');
    exitWithin(WORKER_STOP_GRACE_MS, log, 'supervisor is gone');
    shutdownWorkers();
  });

  await ensureWebhookOutboxSchedule(client, env.TASK_QUEUE, log);
  log.info({ taskQueue: env.TASK_QUEUE, hostTaskQueue, engine: engine.name, seats }, 'worker running');
  try {
    await Promise.all([sharedRun, hostWorker.run(), placementWorker.run()]);
  } finally {
    await upkeep.stop();
    await sessionHost.stopAll();
    leases.stop();
    await engine.close();
    await connection.close();
    // A connection that died under the pool (a database restart) stays in it, and ending it throws: nothing is lost.
    await pool.end().catch((error: unknown) => log.warn({ err: error }, 'a database connection was gone at shutdown'));
    log.info('worker stopped');
  }
}

main().catch((error: unknown) => {
  createLogger('worker').fatal({ err: error }, 'worker failed');
  process.exit(1);
});

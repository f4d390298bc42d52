import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { createDatabasePool } from '../../db/pool.js';
import { ensureProcessLogin, type ServiceProcess } from '../../db/service-login.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { startServiceProcess } from '../../infra/service-processes.js';
import { waitForWorkflowPoller } from '../../infra/wait-for-worker.js';
import { temporalTlsFromEnv, type TemporalTlsEnv } from '../../lib/temporal-tls.js';
import { AccountDriver, accountSettingsDir, FAST_SIMULATOR_ENV, FAST_TIMINGS } from './accounts.js';
import { openPool, openTemporalClient, testStackEnv, uniqueId } from './context.js';

const logins = new Map<ServiceProcess, Promise<string>>();

/** The worker's or the API's own login on the test stack's PostgreSQL (sql/0021), one per test process. */
export function testProcessDatabaseUrl(serviceProcess: ServiceProcess): Promise<string> {
  let login = logins.get(serviceProcess);
  if (!login) {
    login = ensureProcessLogin(testStackEnv().databaseUrl, serviceProcess, {
      name: `wa_test_${serviceProcess}_${process.pid}`,
      password: randomBytes(18).toString('base64url'),
    });
    logins.set(serviceProcess, login);
  }
  return login;
}

/**
 * A real worker process (the same entry point production runs) on a task queue of the test's own, logged in as
 * production's worker is: with the worker's role, unless the test gives a DATABASE_URL.
 */
export async function startTestWorker(
  extraEnv: NodeJS.ProcessEnv = {},
  taskQueue = uniqueId('tq'),
): Promise<{ worker: ChildHandle; taskQueue: string; logFile: string }> {
  const { outputDir } = testStackEnv();
  const databaseUrl = await testProcessDatabaseUrl('worker');
  const temporalAddress = extraEnv.TEMPORAL_ADDRESS ?? testStackEnv().temporalAddress;
  const logFile = join(outputDir, `worker-${taskQueue}-${Date.now()}.log`);
  const worker = startServiceProcess(
    'worker',
    {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TASK_QUEUE: taskQueue,
      LOG_LEVEL: 'info',
      // Tests kill hosts and expect their sessions elsewhere within seconds: short leases (production: 45 s).
      SESSION_LEASE_TTL_MS: '6000',
      // Every account on it with the test timings; an account may have its own (AccountDriver.create).
      ACCOUNT_TIMINGS: JSON.stringify(FAST_TIMINGS),
      ACCOUNT_SETTINGS_DIR: accountSettingsDir(taskQueue),
      // Chromium resolves no name at all (it calls Google's hosts by itself): the stand-in is served from the
      // build cache and a test's proxies are on loopback addresses, so nothing it asks for leaves the machine.
      CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND',
      ...extraEnv,
    },
    logFile,
  );
  await Promise.race([
    waitForWorkflowPoller(temporalAddress, 'default', taskQueue, 120_000, {
      tls: temporalTlsFromEnv(extraEnv as TemporalTlsEnv),
      pid: worker.process.pid,
    }),
    worker.exited.then((code) => {
      throw new Error(`worker exited with ${code} before polling; see ${outputDir}`);
    }),
  ]);
  return { worker, taskQueue, logFile };
}

export interface SimulatedWorkerStack {
  pool: DatabasePool;
  client: Client;
  accounts: AccountDriver;
  worker: ChildHandle;
  workerLogFile: string;
}

/**
 * For a describe block: a database pool, a Temporal client and a real worker process running the simulated engine on
 * a task queue of its own, opened before its tests and closed after. The fields are filled in by the `before` hook.
 */
export function useSimulatedWorkerStack(extraEnv: NodeJS.ProcessEnv = FAST_SIMULATOR_ENV): SimulatedWorkerStack {
  const stack = {} as SimulatedWorkerStack;
  let closeClient: (() => Promise<void>) | undefined;
  before(async () => {
    stack.pool = await openPool();
    ({ client: stack.client, close: closeClient } = await openTemporalClient());
    const started = await startTestWorker(extraEnv);
    stack.worker = started.worker;
    stack.workerLogFile = started.logFile;
    stack.accounts = new AccountDriver(stack.pool, stack.client, started.taskQueue);
  });
  after(async () => {
    await stack.worker?.stop('SIGTERM');
    await closeClient?.();
    await stack.pool?.end();
  });
  return stack;
}

export interface WorkerHosts {
  pool: DatabasePool;
  client: Client;
  /** Starts a worker process (a host) on the queue; every one started is stopped after the block's tests. */
  start(extraEnv: NodeJS.ProcessEnv, taskQueue: string): ReturnType<typeof startTestWorker>;
}

/**
 * For a describe block whose tests start, kill and replace worker processes themselves: a database pool and a
 * Temporal client opened before its tests, and each worker it started stopped after them with `stopWith`.
 */
export function useWorkerHosts(stopWith: 'SIGTERM' | 'SIGKILL'): WorkerHosts {
  const workers: ChildHandle[] = [];
  let closeClient: (() => Promise<void>) | undefined;
  const hosts: WorkerHosts = {
    pool: undefined as unknown as DatabasePool,
    client: undefined as unknown as Client,
    async start(extraEnv, taskQueue) {
      const started = await startTestWorker(extraEnv, taskQueue);
      workers.push(started.worker);
      return started;
    },
  };
  before(async () => {
    hosts.pool = await openPool();
    ({ client: hosts.client, close: closeClient } = await openTemporalClient());
  });
  after(async () => {
    for (const worker of workers) await worker.stop(stopWith);
    await closeClient?.();
    await hosts.pool?.end();
  });
  return hosts;
}

/** A pool logged in as production's API is (its role), for an API a test builds in its own process. */
export async function apiRolePool(taskQueue?: string): Promise<DatabasePool> {
  return createDatabasePool(await testProcessDatabaseUrl('api'), { maximumPoolSize: 10, taskQueue });
}

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabasePool } from 'slonik';
import type { ChildHandle } from '../../lib/child-process.js';
import { createApiKey } from '../../db/workspaces.js';
import { migrate } from '../../db/migrate.js';
import { ensureProcessLogin, type ServiceProcess } from '../../db/service-login.js';
import { createDatabasePool } from '../../db/pool.js';
import { startLocalPostgres, type RunningPostgres } from '../../infra/local-postgres.js';
import { findFreePort } from '../../infra/ports.js';
import { newKeyEntry } from '../../lib/keyring.js';
import { startServiceProcess, waitForHttpOk } from '../../infra/service-processes.js';
import { resolveTemporalCli } from '../../infra/temporal-cli.js';
import { startTemporalDevServer, type RunningTemporal } from '../../infra/temporal-dev-server.js';
import { resolveTemporalServer, startTemporalServer } from '../../infra/temporal-server.js';
import { waitForWorkflowPoller } from '../../infra/wait-for-worker.js';
import { createLogger } from '../../lib/logger.js';
import { eventually } from '../helpers/context.js';
import { WebhookReceiver } from './webhook-receiver.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const log = createLogger('faults', process.env.STACK_LOG_LEVEL ?? 'warn');

/** The simulated phone answers at once and its QR codes outlive every outage a case provokes. */
const SIMULATOR_ENV = {
  WA_ENGINE: 'simulated',
  SIM_FIRST_QR_DELAY_MS: '0',
  SIM_FIRST_QR_TTL_MS: '3600000',
  SIM_QR_TTL_MS: '3600000',
  SIM_READY_DELAY_MS: '200',
  SIM_RESTORE_DELAY_MS: '200',
};

/**
 * One case's whole service as real processes, each of which the case can kill, stop or restart on its own data:
 * PostgreSQL, the Temporal dev server (on its SQLite file), a worker and an API process.
 */
export class FaultStack {
  adminKey = '';
  worker: ChildHandle | null = null;
  api: ChildHandle | null = null;
  private workerCount = 0;
  private readonly extraWorkers: ChildHandle[] = [];
  private readonly workerLogs = new Map<ChildHandle, string>();
  private apiCount = 0;
  /** The API's own login (env's DATABASE_URL is the worker's). */
  apiDatabaseUrl = '';

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    private postgres: RunningPostgres | null,
    private temporal: RunningTemporal | null,
    readonly ports: { postgres: number; temporal: number; api: number },
    readonly databaseUrl: string,
    readonly env: NodeJS.ProcessEnv,
    readonly pool: DatabasePool,
  ) {}

  static async start(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<FaultStack> {
    const dataDir = join(ROOT, '.data', `fault-${name}-${process.pid}`);
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    const ports = { postgres: await findFreePort(), temporal: await findFreePort(), api: await findFreePort() };
    const postgres = await startLocalPostgres({
      dataDir: join(dataDir, 'postgres'),
      port: ports.postgres,
      database: 'wa_connect',
      log,
      durable: false,
    });
    const temporal = await startFaultTemporal(dataDir, ports.temporal, postgres.url);
    await migrate(postgres.url, log);
    // The worker and the API log in as production's do: each as its own role (sql/0021).
    const login = async (serviceProcess: ServiceProcess) =>
      ensureProcessLogin(postgres.url, serviceProcess, {
        name: `wa_${serviceProcess}`,
        password: randomBytes(18).toString('base64url'),
      });
    const databaseUrls = { worker: await login('worker'), api: await login('api') };
    const env = {
      ...process.env,
      ...SIMULATOR_ENV,
      DATABASE_URL: databaseUrls.worker,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: `faults-${name}`,
      API_PORT: String(ports.api),
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '1000000',
      ACCOUNT_CREATIONS_PER_MINUTE: '1000000',
      FAILED_AUTHENTICATIONS_PER_MINUTE: '1000000',
      ENCRYPTION_KEYS: process.env.ENCRYPTION_KEYS ?? newKeyEntry('faults'),
      // The webhook receiver listens on loopback, which the webhook network policy otherwise refuses.
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1,localhost',
      // A fuzzed proxy names anything: only loopback may be dialed, every other address is refused undialed.
      PROXY_ALLOWED_HOSTS: '127.0.0.1,localhost',
      ...extraEnv,
    };
    const pool = await createDatabasePool(postgres.url, { maximumPoolSize: 4 });
    const stack = new FaultStack(name, dataDir, postgres, temporal, ports, postgres.url, env, pool);
    stack.apiDatabaseUrl = databaseUrls.api;
    stack.adminKey = (await createApiKey(stack.pool, { workspaceId: null, name: 'faults' })).key;
    await Promise.all([stack.startWorker(), stack.startApi()]);
    return stack;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  async startWorker(): Promise<void> {
    this.workerCount += 1;
    const logFile = join(this.dataDir, `worker-${this.workerCount}.log`);
    const worker = startServiceProcess('worker', this.env, logFile);
    this.workerLogs.set(worker, logFile);
    this.worker = worker;
    await Promise.race([
      waitForWorkflowPoller(this.env.TEMPORAL_ADDRESS as string, 'default', this.env.TASK_QUEUE as string, 120_000, {
        pid: worker.process.pid,
      }),
      worker.exited.then((code) => {
        throw new Error(`worker exited with ${code} while starting; see ${this.dataDir}`);
      }),
    ]);
  }

  /** Another host beside the first, on the same task queue (its own process and log). */
  async startSecondWorker(): Promise<ChildHandle> {
    this.workerCount += 1;
    const logFile = join(this.dataDir, `worker-${this.workerCount}.log`);
    const worker = startServiceProcess('worker', this.env, logFile);
    this.workerLogs.set(worker, logFile);
    this.extraWorkers.push(worker);
    return worker;
  }

  /** Another host beside the others, once it runs (its workers poll): other hosts already poll the same queues. */
  async startHost(): Promise<ChildHandle> {
    const host = await this.startSecondWorker();
    await until(
      async () => {
        if (host.process.exitCode !== null) throw new Error(`a host exited while starting; see ${this.dataDir}`);
        return (await this.hostQueue(host)) !== null;
      },
      120_000,
      'the new host runs',
    );
    return host;
  }

  /** The host's own task queue (its name in leases and in the client audit), once it runs. */
  async hostQueue(host: ChildHandle): Promise<string | null> {
    const logFile = this.workerLogs.get(host);
    const log = logFile ? await readFile(logFile, 'utf8').catch(() => '') : '';
    const running = log.split('\n').find((line) => line.includes('"msg":"worker running"'));
    return running ? (JSON.parse(running) as { hostTaskQueue: string }).hostTaskQueue : null;
  }

  /** Every host process this stack started that still runs, the first one included. */
  hosts(): ChildHandle[] {
    return [this.worker, ...this.extraWorkers].filter(
      (host): host is ChildHandle =>
        host !== null && host.process.exitCode === null && host.process.signalCode === null,
    );
  }

  /** SIGSTOP: the first worker freezes (a long GC, a paused VM), holding its sessions. */
  pauseWorker(): void {
    this.worker?.process.kill('SIGSTOP');
  }

  resumeWorker(): void {
    this.worker?.process.kill('SIGCONT');
  }

  async killWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    worker.process.kill('SIGKILL');
    await worker.exited;
  }

  async startApi(): Promise<void> {
    this.apiCount += 1;
    const api = startServiceProcess(
      'api',
      { ...this.env, DATABASE_URL: this.apiDatabaseUrl },
      join(this.dataDir, `api-${this.apiCount}.log`),
    );
    this.api = api;
    await waitForHttpOk(`${this.apiUrl}/health`, [api], 120_000);
  }

  async stopApi(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const api = this.api;
    this.api = null;
    await api?.stop(signal, 10_000);
  }

  async stopTemporal(): Promise<void> {
    await this.temporal?.stop();
    this.temporal = null;
  }

  async startTemporal(): Promise<void> {
    this.temporal = await startFaultTemporal(this.dataDir, this.ports.temporal, this.databaseUrl);
  }

  async stopPostgres(): Promise<void> {
    await this.postgres?.stop();
    this.postgres = null;
  }

  async startPostgres(): Promise<void> {
    this.postgres = await startLocalPostgres({
      dataDir: join(this.dataDir, 'postgres'),
      port: this.ports.postgres,
      database: 'wa_connect',
      log,
      durable: false,
    });
  }

  /** Every process still running that should be (a crash of any of them fails the case). */
  alive(): { worker: boolean; api: boolean } {
    const running = (child: ChildHandle | null) =>
      child !== null && child.process.exitCode === null && child.process.signalCode === null;
    return { worker: running(this.worker), api: running(this.api) };
  }

  async http(
    method: string,
    path: string,
    body?: unknown,
    key = this.adminKey,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let json: Record<string, unknown>;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { raw: text };
    }
    return { status: response.status, json };
  }

  async stop(): Promise<void> {
    this.worker?.process.kill('SIGCONT');
    for (const worker of this.extraWorkers) await worker.stop('SIGTERM', 15_000);
    await this.worker?.stop('SIGTERM', 15_000);
    await this.api?.stop('SIGTERM', 10_000);
    await this.pool.end().catch(() => undefined);
    await this.temporal?.stop();
    await this.postgres?.stop();
    if (process.env.KEEP_TEST_DATA !== '1') await rm(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * `TEMPORAL_TOPOLOGY=server` (CI): Temporal's production server on the case's PostgreSQL, so that stopping
 * PostgreSQL takes Temporal's persistence down too, and restarting Temporal restarts the server's processes.
 * Otherwise the CLI's dev server on a SQLite file of the case's own.
 */
export const FAULT_TOPOLOGY = process.env.TEMPORAL_TOPOLOGY === 'server' ? 'server' : 'dev';

async function startFaultTemporal(dataDir: string, port: number, postgresOwnerUrl: string): Promise<RunningTemporal> {
  if (FAULT_TOPOLOGY === 'server') {
    return startTemporalServer({
      binaries: await resolveTemporalServer(log),
      cliPath: await resolveTemporalCli(log),
      postgresOwnerUrl,
      dataDir: join(dataDir, 'temporal-server'),
      port,
      uiPort: null,
      namespace: 'default',
      log,
    });
  }
  return startTemporalDevServer({
    cliPath: await resolveTemporalCli(log),
    dbFile: join(dataDir, 'temporal.db'),
    port,
    uiPort: null,
    logFile: join(dataDir, 'temporal.log'),
    namespace: 'default',
    log,
  });
}

/** `eventually` for probes that answer false or null while waiting: a generous bound, never a timing assertion. */
export async function until<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return eventually(async () => (await probe()) || undefined, timeoutMs, what);
}

/**
 * Registers a case's stack (and a webhook receiver) in the suite's before/after hooks; read them inside the tests.
 */
export function faultStackFor(
  name: string,
  extraEnv: NodeJS.ProcessEnv = {},
): { readonly stack: FaultStack; readonly receiver: WebhookReceiver } {
  const handles: { stack?: FaultStack; receiver?: WebhookReceiver } = {};
  before(async () => {
    handles.receiver = await WebhookReceiver.start();
    handles.stack = await FaultStack.start(name, extraEnv);
  });
  after(async () => {
    await handles.stack?.stop();
    await handles.receiver?.close();
  });
  return {
    get stack() {
      return handles.stack as FaultStack;
    },
    get receiver() {
      return handles.receiver as WebhookReceiver;
    },
  };
}

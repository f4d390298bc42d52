import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readProcessEnv } from '../config/env.js';
import { createDatabasePool } from '../db/pool.js';
import { createApiKey } from '../db/workspaces.js';
import { readStackEnv } from '../config/stack-env.js';
import { migrate } from '../db/migrate.js';
import { ensureProcessLogin, type ServiceProcess } from '../db/service-login.js';
import { keptSecret } from '../infra/kept-secret.js';
import { assertPortFree } from '../infra/ports.js';
import { startServiceProcess, waitForHttpOk } from '../infra/service-processes.js';
import { redact, startStack, type RunningStack } from '../infra/stack.js';
import { SupervisedProcess } from '../infra/supervisor.js';
import { waitForWorkflowPoller } from '../infra/wait-for-worker.js';
import { serviceLogger } from '../config/logging.js';
import { newKeyEntry } from '../lib/keyring.js';
import { TEMPORAL_UI_PUBLIC_PATH } from '../lib/temporal-ui.js';

/**
 * `npm start`: Temporal, PostgreSQL (embedded unless TEMPORAL_ADDRESS / DATABASE_URL say otherwise), one worker
 * process and one API process, until Ctrl-C, SIGTERM or a hang-up; a worker or API that exits on its own is restarted with
 * backoff (infra/supervisor.ts). Data stays in DATA_DIR, so the next start finds every workflow and row.
 */
async function main() {
  const log = serviceLogger('stack');
  const config = readStackEnv();
  const startedAt = Date.now();
  const services: SupervisedProcess[] = [];
  /** Set once the stack answers: from then on a process that exits is restarted, and only a signal stops the stack. */
  let up = false;
  // eslint-disable-next-line prefer-const -- stopAll, defined before the stack starts, reads it.
  let stack: RunningStack | undefined;
  let stopping = false;
  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping');
    for (const service of [...services].reverse()) await service.stop('SIGTERM', 60_000);
    await stack?.stop();
    log.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  // A closed terminal: left to its default, SIGHUP would end this process at once and its services without a drain.
  // Its output has nowhere to go from then on: a write that fails (EIO, EPIPE) must not end the stop half-way.
  process.on('SIGHUP', () => {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    void stopAll(0);
  });

  await assertPortFree(config.API_PORT, config.API_HOST, 'API', 'set API_PORT');
  stack = await startStack({
    dataDir: config.DATA_DIR,
    temporalPort: config.TEMPORAL_PORT,
    temporalUiPort: config.TEMPORAL_UI_PORT,
    postgresPort: config.LOCAL_PG_PORT,
    namespace: config.TEMPORAL_NAMESPACE,
    topology: config.TEMPORAL_TOPOLOGY,
    durable: true,
    log,
  });
  try {
    await migrate(stack.databaseUrl, log);
    const env = {
      // The engine's Chromium profiles live with the rest of this stack's data unless told otherwise.
      ENGINE_DATA_DIR: resolve(config.DATA_DIR, 'engine'),
      ...process.env,
      ENCRYPTION_KEYS: process.env.ENCRYPTION_KEYS ?? (await localEncryptionKeys(config.DATA_DIR)),
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      API_HOST: config.API_HOST,
      API_PORT: String(config.API_PORT),
      // The UI server listens on loopback only; operators reach it through the API, behind the admin login.
      ...(stack.temporalUiUrl ? { TEMPORAL_UI_URL: stack.temporalUiUrl } : {}),
    };
    readProcessEnv(env);
    const adminKeyFile = await ensureLocalAdminKey(stack.databaseUrl, config.DATA_DIR);
    // The children's output passes through this process (for their last error line), so they cannot see the
    // terminal themselves: they print for people when this process does.
    const childEnv = { ...env, LOG_FORMAT: process.env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json') };
    // The embedded PostgreSQL's processes log in each as its own role; the owner stays with this supervisor.
    const databaseUrls = {
      worker: stack.embeddedPostgres ? await localProcessLogin(stack.databaseUrl, config.DATA_DIR, 'worker') : null,
      api: stack.embeddedPostgres ? await localProcessLogin(stack.databaseUrl, config.DATA_DIR, 'api') : null,
    };
    for (const name of ['worker', 'api'] as const) {
      const ownEnv = { ...childEnv, DATABASE_URL: databaseUrls[name] ?? childEnv.DATABASE_URL };
      const service = new SupervisedProcess(name, (onLine) => startServiceProcess(name, ownEnv, onLine), log);
      services.push(service);
      // Before the stack is up, an exit is a configuration problem for a person to fix, not something to retry.
      void service.handle.exited.then((code) => {
        if (up || stopping) return;
        log.error({ process: name, code }, 'a service process exited while starting; stopping the stack');
        void stopAll(1);
      });
    }
    const apiUrl = `http://${config.API_HOST}:${config.API_PORT}`;
    await waitForHttpOk(
      `${apiUrl}/ready`,
      services.map((service) => service.handle),
      180_000,
    );
    await waitForWorkflowPoller(
      stack.temporalAddress,
      config.TEMPORAL_NAMESPACE,
      readProcessEnv(env).TASK_QUEUE,
      180_000,
    );
    up = true;
    printBanner(stack, apiUrl, Date.now() - startedAt, adminKeyFile);
  } catch (error) {
    log.fatal({ err: error }, 'start failed');
    await stopAll(1);
  }
}

/**
 * A local stack gets an admin key on its first start, kept in DATA_DIR (readable by its owner only), so a person
 * can use the API and the page at once. Production issues keys with `npm run keys`.
 */
async function ensureLocalAdminKey(databaseUrl: string, dataDir: string): Promise<string> {
  const file = resolve(dataDir, 'admin-api-key');
  if (
    await access(file).then(
      () => true,
      () => false,
    )
  )
    return file;
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 1 });
  try {
    const { key } = await createApiKey(pool, { workspaceId: null, name: 'local admin (npm start)' });
    await writeFile(file, `${key}\n`, { mode: 0o600 });
  } finally {
    await pool.end();
  }
  return file;
}

/** The embedded PostgreSQL's login for one process, its password made once and kept in DATA_DIR. */
async function localProcessLogin(ownerUrl: string, dataDir: string, serviceProcess: ServiceProcess): Promise<string> {
  const password = await keptSecret(resolve(dataDir, `${serviceProcess}-db-password`), () =>
    randomBytes(24).toString('base64url'),
  );
  return ensureProcessLogin(ownerUrl, serviceProcess, { name: `wa_${serviceProcess}`, password });
}

/**
 * A local stack's key (lib/keyring.ts), made on its first start and kept in DATA_DIR (readable by
 * its owner only): what the stack wrote to Temporal stays readable across restarts. Production sets
 * ENCRYPTION_KEYS itself.
 */
async function localEncryptionKeys(dataDir: string): Promise<string> {
  return keptSecret(resolve(dataDir, 'encryption-keys'), () => newKeyEntry('local'));
}

function printBanner(stack: RunningStack, apiUrl: string, elapsedMs: number, adminKeyFile: string) {
  const lines = [
    '',
    `wa-connect is running (ready in ${(elapsedMs / 1000).toFixed(1)} s)`,
    `  API            ${apiUrl}   (liveness ${apiUrl}/health, readiness ${apiUrl}/ready)`,
    `  Temporal UI    ${stack.temporalUiUrl ? `${apiUrl}${TEMPORAL_UI_PUBLIC_PATH}/   (sign in with the admin key)` : '(external Temporal: use its own UI)'}`,
    `  Temporal gRPC  ${stack.temporalAddress}`,
    `  PostgreSQL     ${redact(stack.databaseUrl)}`,
    `  Page           ${apiUrl}/   (API docs ${apiUrl}/docs)`,
    `  Admin API key  in ${adminKeyFile}`,
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error: unknown) => {
  // Configuration problems are for a person to read: one plain line that names the problem.
  process.stderr.write(`wa-connect did not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { ConfigError } from '../config/env.js';
import type { Logger } from '../lib/logger.js';
import { startLocalPostgres, type RunningPostgres } from './local-postgres.js';
import { newKeyEntry } from '../lib/keyring.js';
import { findFreeLowPort } from './ports.js';
import { resolveTemporalCli } from './temporal-cli.js';
import { startTemporalDevServer, type RunningTemporal } from './temporal-dev-server.js';
import { resolveTemporalServer, startTemporalServer } from './temporal-server.js';

export interface StackOptions {
  dataDir: string;
  temporalPort: number;
  /** null: no Web UI (tests). */
  temporalUiPort: number | null;
  postgresPort: number;
  namespace: string;
  log: Logger;
  /** False for tests: PostgreSQL skips fsync. */
  durable: boolean;
  /** PostgreSQL counts every statement (pg_stat_statements), for the benchmark's profile. */
  statementStatistics?: boolean;
  env?: NodeJS.ProcessEnv;
  /** `dev`: the CLI's dev server on SQLite. `server`: Temporal's production server on this PostgreSQL. */
  topology?: TemporalTopology;
}

export type TemporalTopology = 'dev' | 'server';

export interface RunningStack {
  databaseUrl: string;
  /** PostgreSQL was started here (its owner may create the service's login role). */
  embeddedPostgres: boolean;
  temporalAddress: string;
  temporalUiUrl: string | null;
  stop(): Promise<void>;
}

/**
 * Temporal and PostgreSQL of a run's own (tests, benchmarks), on free ports: never a developer's running ones, so
 * DATABASE_URL and TEMPORAL_ADDRESS are ignored. `env` is the environment without them, for the run's processes.
 */
export async function startPrivateStack(options: {
  dataDir: string;
  durable: boolean;
  log: Logger;
  topology?: TemporalTopology;
  /** Start Temporal's Web UI too (on loopback, at a free port). */
  withUi?: boolean;
  statementStatistics?: boolean;
}): Promise<{ stack: RunningStack; env: NodeJS.ProcessEnv }> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  // A key of the run's own: its processes read each other's payloads, and nothing of a deployment's.
  env.ENCRYPTION_KEYS = newKeyEntry('run');
  // Below the ephemeral range: PostgreSQL binds its port only after initdb, seconds later, and an outgoing
  // connection (an npm install beside the run) can take a port the OS just reported free in that range meanwhile.
  const taken = new Set<number>();
  const freePort = async () => {
    const port = await findFreeLowPort('127.0.0.1', taken);
    taken.add(port);
    return port;
  };
  const stack = await startStack({
    ...options,
    temporalPort: await freePort(),
    temporalUiPort: options.withUi ? await freePort() : null,
    postgresPort: await freePort(),
    namespace: 'default',
    env,
  });
  return { stack, env };
}

/**
 * Temporal and PostgreSQL for one run: the ones DATABASE_URL / TEMPORAL_ADDRESS name when set (checked, not
 * started), else local ones whose data lives in `dataDir`.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const env = options.env ?? process.env;
  const dataDir = resolve(options.dataDir);
  await mkdir(join(dataDir, 'logs'), { recursive: true });

  const postgresTask: Promise<RunningPostgres | { url: string; stop?: undefined }> = env.DATABASE_URL
    ? assertPostgresReachable(env.DATABASE_URL).then(() => ({ url: env.DATABASE_URL as string }))
    : startLocalPostgres({
        dataDir: join(dataDir, 'postgres'),
        port: options.postgresPort,
        database: 'wa_connect',
        log: options.log,
        durable: options.durable,
        ...(options.statementStatistics ? { statementStatistics: true } : {}),
      });

  const temporalTask: Promise<RunningTemporal | { address: string; uiUrl: null; stop?: undefined }> =
    options.topology === 'server' && !env.TEMPORAL_ADDRESS
      ? temporalServerOn(postgresTask, dataDir, options, env)
      : env.TEMPORAL_ADDRESS
        ? assertTemporalReachable(env.TEMPORAL_ADDRESS, options.namespace).then(() => ({
            address: env.TEMPORAL_ADDRESS as string,
            uiUrl: null,
          }))
        : resolveTemporalCli(options.log, env).then((cliPath) =>
            startTemporalDevServer({
              cliPath,
              dbFile: join(dataDir, 'temporal.db'),
              port: options.temporalPort,
              uiPort: options.temporalUiPort,
              logFile: join(dataDir, 'logs', 'temporal.log'),
              namespace: options.namespace,
              log: options.log,
            }),
          );

  const [postgres, temporal] = await Promise.allSettled([postgresTask, temporalTask]);
  if (postgres.status === 'rejected' || temporal.status === 'rejected') {
    // One side failed: stop what the other side started before reporting.
    if (postgres.status === 'fulfilled') await postgres.value.stop?.();
    if (temporal.status === 'fulfilled') await temporal.value.stop?.();
    throw postgres.status === 'rejected' ? postgres.reason : (temporal as PromiseRejectedResult).reason;
  }
  return {
    databaseUrl: postgres.value.url,
    embeddedPostgres: postgres.value.stop !== undefined,
    temporalAddress: temporal.value.address,
    temporalUiUrl: temporal.value.uiUrl,
    async stop() {
      await temporal.value.stop?.();
      await postgres.value.stop?.();
    },
  };
}

/** Temporal's production server on the run's PostgreSQL, once that answers. */
async function temporalServerOn(
  postgresTask: Promise<{ url: string }>,
  dataDir: string,
  options: StackOptions,
  env: NodeJS.ProcessEnv,
): Promise<RunningTemporal> {
  const [binaries, cliPath] = await Promise.all([
    resolveTemporalServer(options.log, env),
    resolveTemporalCli(options.log, env),
  ]);
  const postgres = await postgresTask;
  return startTemporalServer({
    binaries,
    cliPath,
    postgresOwnerUrl: postgres.url,
    dataDir: join(dataDir, 'temporal-server'),
    port: options.temporalPort,
    uiPort: options.temporalUiPort,
    namespace: options.namespace,
    log: options.log,
  });
}

async function assertPostgresReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new ConfigError(`DATABASE_URL (${redact(url)}) is unreachable: ${(error as Error).message || String(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function assertTemporalReachable(address: string, namespace: string): Promise<void> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } finally {
      await connection.close();
    }
  } catch (error) {
    throw new ConfigError(
      `TEMPORAL_ADDRESS (${address}) is unreachable or has no namespace "${namespace}": ${(error as Error).message}`,
    );
  }
}

/** Never print a password, even in an error. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

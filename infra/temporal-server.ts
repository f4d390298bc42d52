import { randomBytes } from 'node:crypto';
import { access, constants, cp, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { ConfigError } from '../config/env.js';
import type { Logger } from '../lib/logger.js';
import { temporalTlsFromEnv, type TemporalTls } from '../lib/temporal-tls.js';
import { runCommand, startChild, type ChildHandle } from '../lib/child-process.js';
import { keptSecret } from './kept-secret.js';
import { assertPortFree, findFreeLowPort } from './ports.js';
import type { RunningTemporal } from './temporal-dev-server.js';

/** Temporal's server and SQL tool, pinned: the same version line as the CLI's dev server. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** Temporal's standalone Web UI server: the version of the temporalio/ui image docker-compose runs. */
export const TEMPORAL_UI_VERSION = 'v2.42.1';
const UI_MODULE = 'github.com/temporalio/ui-server/v2/cmd/server';
const UI_CONFIG_DIR = fileURLToPath(new URL('./temporal/ui/', import.meta.url));
const SERVER_MODULE = 'go.temporal.io/server';
const CONFIG_DIR = fileURLToPath(new URL('./temporal/config/', import.meta.url));
const SETUP_SCHEMA = fileURLToPath(new URL('./temporal/setup-schema.sh', import.meta.url));
const SETUP_NAMESPACE = fileURLToPath(new URL('./temporal/setup-namespace.sh', import.meta.url));
/** How the server starts, here and in docker-compose.yml (where the config directory is mounted elsewhere). */
export function temporalServerArgs(configDir: string): string[] {
  return ['--root', '/', '--config', configDir, '--env', 'production', '--allow-no-auth', 'start'];
}

/** How the standalone Web UI server starts, here and in docker-compose.yml. */
export function temporalUiArgs(configDir: string): string[] {
  return ['--root', '/', '--config', configDir, '--env', 'production', 'start'];
}

/** Temporal's own PostgreSQL role: it creates and owns its two databases and nothing else. */
const TEMPORAL_ROLE = 'temporal';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** The module's schema/postgresql/v12 (versioned schema files of both databases). */
  schemaDir: string;
  uiServer: string;
}

/**
 * Temporal's server, its SQL tool and schema files at the pinned version, built once with Go into
 * $(go env GOPATH)/temporal-server-<version>/ and found there afterwards (a few minutes the first time, with progress).
 */
export async function resolveTemporalServer(
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TemporalServerBinaries> {
  const go = await findOnPath('go', env);
  if (!go) throw new ConfigError('TEMPORAL_TOPOLOGY=server needs Go to build Temporal’s server (or a built copy)');
  const goPath = (await runCommand(go, ['env', 'GOPATH'], { env })).trim().split(delimiter)[0] ?? '';
  const home = join(goPath, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const binaries = {
    server: join(home, 'temporal-server'),
    sqlTool: join(home, 'temporal-sql-tool'),
    schemaDir: join(home, 'schema', 'postgresql', 'v12'),
    uiServer: join(home, 'temporal-ui-server'),
  };
  const built = await Promise.all([binaries.server, binaries.sqlTool, binaries.uiServer].map(isExecutable));
  if (built.every(Boolean)) return binaries;

  await mkdir(home, { recursive: true });
  const modules = [
    ...[`${SERVER_MODULE}/cmd/server`, `${SERVER_MODULE}/cmd/tools/sql`].map(
      (path) => `${path}@${TEMPORAL_SERVER_VERSION}`,
    ),
    `${UI_MODULE}@${TEMPORAL_UI_VERSION}`,
  ];
  log.info({ modules }, 'building Temporal’s server and SQL tool with Go (first time only, a few minutes)');
  const startedAt = Date.now();
  const ticker = setInterval(
    () => log.info({ elapsedSeconds: Math.round((Date.now() - startedAt) / 1000) }, 'still building Temporal’s server'),
    15_000,
  );
  try {
    // Two module graphs: the UI server is installed apart from the server.
    await runCommand(go, ['install', ...modules.slice(0, 2)], { env: { ...env, GOBIN: home } });
    await mkdir(join(home, 'ui'), { recursive: true });
    await runCommand(go, ['install', ...modules.slice(2)], { env: { ...env, GOBIN: join(home, 'ui') } });
  } finally {
    clearInterval(ticker);
  }
  const moduleCache = (await runCommand(go, ['env', 'GOMODCACHE'], { env })).trim();
  await cp(
    join(moduleCache, `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12'),
    binaries.schemaDir,
    {
      recursive: true,
    },
  );
  await rename(join(home, 'sql'), binaries.sqlTool);
  await rename(join(home, 'server'), binaries.server);
  await rename(join(home, 'ui', 'server'), binaries.uiServer);
  log.info({ home, seconds: Math.round((Date.now() - startedAt) / 1000) }, 'Temporal’s server built');
  return binaries;
}

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  cliPath: string;
  /** The PostgreSQL owner's URL: it creates Temporal's role; Temporal itself logs in as that role. */
  postgresOwnerUrl: string;
  /** Where the role's password and the server's log live. */
  dataDir: string;
  port: number;
  /** The standalone Web UI's port on loopback, or null for none (tests). */
  uiPort: number | null;
  namespace: string;
  historyShards?: number;
  log: Logger;
  readyTimeoutMs?: number;
  /** Mutual TLS on the server's every connection (PEM files); without it, plaintext on loopback. */
  tls?: TemporalServerTls;
}

export interface TemporalServerTls {
  /** The CA of the server's certificate; it signs the clients' certificates too. */
  ca: string;
  /** The server's certificate (valid for server and client authentication: its own services present it). */
  serverCert: string;
  serverKey: string;
  /** The certificate this process's own clients present (the namespace setup, the UI server). */
  clientCert: string;
  clientKey: string;
  /** The name the server's certificate holds. */
  serverName: string;
}

/** The TEMPORAL_TLS_* settings of a client of a server started with these files (lib/temporal-tls.ts reads them). */
export function temporalClientTlsEnv(tls: TemporalServerTls): Record<string, string> {
  return {
    TEMPORAL_TLS_CA: tls.ca,
    TEMPORAL_TLS_CERT: tls.clientCert,
    TEMPORAL_TLS_KEY: tls.clientKey,
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
  };
}

/**
 * Temporal's production server on the project's PostgreSQL: its own role and databases, the schema set up and
 * upgraded by Temporal's SQL tool, the server started from infra/temporal/config/production.yaml with the dev
 * server's dynamic config, then the namespace (with its retention) and the search attributes. The same files run in
 * docker-compose.yml.
 */
export async function startTemporalServer(
  options: TemporalServerOptions,
): Promise<RunningTemporal & { env: NodeJS.ProcessEnv }> {
  await mkdir(join(options.dataDir, 'logs'), { recursive: true });
  const owner = new URL(options.postgresOwnerUrl);
  const password = await ensureTemporalRole(options.postgresOwnerUrl, options.dataDir);
  const host = '127.0.0.1';
  await assertPortFree(options.port, host, 'Temporal frontend', 'set TEMPORAL_PORT');
  if (options.uiPort !== null) await assertPortFree(options.uiPort, host, 'Temporal Web UI', 'set TEMPORAL_UI_PORT');
  const clientTlsEnv = options.tls ? temporalClientTlsEnv(options.tls) : {};
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_DB_HOST: owner.hostname,
    TEMPORAL_DB_PORT: owner.port || '5432',
    TEMPORAL_DB_USER: TEMPORAL_ROLE,
    TEMPORAL_DB_PASSWORD: password,
    TEMPORAL_HISTORY_SHARDS: String(options.historyShards ?? 4),
    TEMPORAL_BIND_IP: host,
    TEMPORAL_BROADCAST_ADDRESS: host,
    TEMPORAL_DYNAMIC_CONFIG: join(CONFIG_DIR, 'dynamicconfig.yaml'),
    TEMPORAL_SQL_TOOL: options.binaries.sqlTool,
    TEMPORAL_SCHEMA_DIR: options.binaries.schemaDir,
    ...(options.tls
      ? {
          TEMPORAL_TLS_SERVER_CERT: options.tls.serverCert,
          TEMPORAL_TLS_SERVER_KEY: options.tls.serverKey,
          TEMPORAL_TLS_CA: options.tls.ca,
          TEMPORAL_TLS_SERVER_NAME: options.tls.serverName,
        }
      : {}),
  };
  await runCommand('sh', [SETUP_SCHEMA], { env: baseEnv });

  const address = `${host}:${options.port}`;
  const logFile = join(options.dataDir, 'logs', 'temporal-server.log');
  const clientTls = temporalTlsFromEnv(clientTlsEnv);
  let started: { child: ChildHandle; env: NodeJS.ProcessEnv } | undefined;
  for (let attempt = 1; !started; attempt += 1) {
    const env = { ...baseEnv, ...portsEnv(await serverPorts(options.dataDir, options.port, attempt > 1)) };
    const logStart = await stat(logFile).then(
      (file) => file.size,
      () => 0,
    );
    const child = startChild({
      name: 'temporal-server',
      command: options.binaries.server,
      args: temporalServerArgs(CONFIG_DIR),
      env,
      logFile,
      detached: true,
    });
    try {
      await waitForFrontend(address, child, { logFile, logStart }, options.readyTimeoutMs ?? 120_000, clientTls);
      started = { child, env };
    } catch (error) {
      await child.stop('SIGTERM', 20_000);
      // Its internal ports were free when chosen, but anything on the machine may bind one before the server does.
      const retry = error instanceof TemporalStartError && error.portTaken && attempt < PORT_ATTEMPTS;
      if (!retry) throw error;
      options.log.warn({ attempt, reason: error.reason }, 'Temporal server could not bind a port; choosing others');
    }
  }
  const { child, env } = started;
  const stop = () => child.stop('SIGTERM', 20_000);
  try {
    await runCommand('sh', [SETUP_NAMESPACE], {
      env: {
        ...env,
        ...clientTlsEnv,
        TEMPORAL_CLI: options.cliPath,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: options.namespace,
      },
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const ui = options.uiPort === null ? null : startUiServer(options, address, host, options.uiPort, clientTlsEnv);
  options.log.info({ address, historyShards: env.TEMPORAL_HISTORY_SHARDS }, 'Temporal server on PostgreSQL ready');
  return {
    address,
    uiUrl: ui ? `http://${host}:${options.uiPort}` : null,
    child,
    stop: async () => {
      await ui?.stop('SIGTERM', 5_000);
      await stop();
    },
    env,
  };
}

function startUiServer(
  options: TemporalServerOptions,
  address: string,
  host: string,
  port: number,
  clientTlsEnv: Record<string, string>,
): ChildHandle {
  return startChild({
    name: 'temporal-ui',
    command: options.binaries.uiServer,
    args: temporalUiArgs(UI_CONFIG_DIR),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_UI_HOST: host,
      TEMPORAL_UI_PORT: String(port),
      TEMPORAL_NAMESPACE: options.namespace,
      ...clientTlsEnv,
    },
    logFile: join(options.dataDir, 'logs', 'temporal-ui.log'),
    detached: true,
  });
}

type ServerPorts = Record<string, number>;

/**
 * The internal ports of the server's services, chosen once per data directory and kept: a restarted server finds its
 * own previous members in the membership table at the same addresses, instead of waiting for gone ones to time out.
 */
async function serverPorts(dataDir: string, frontendPort: number, fresh: boolean): Promise<ServerPorts> {
  const file = join(dataDir, 'ports.json');
  const kept = JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as ServerPorts | null;
  if (!fresh && kept && kept.TEMPORAL_FRONTEND_PORT === frontendPort) return kept;
  const ports: ServerPorts = { TEMPORAL_FRONTEND_PORT: frontendPort };
  for (const name of [
    'TEMPORAL_FRONTEND_HTTP_PORT',
    'TEMPORAL_FRONTEND_MEMBERSHIP_PORT',
    'TEMPORAL_HISTORY_PORT',
    'TEMPORAL_HISTORY_MEMBERSHIP_PORT',
    'TEMPORAL_MATCHING_PORT',
    'TEMPORAL_MATCHING_MEMBERSHIP_PORT',
    'TEMPORAL_WORKER_PORT',
    'TEMPORAL_WORKER_MEMBERSHIP_PORT',
    'TEMPORAL_METRICS_PORT',
  ]) {
    // Free is not enough: none of these is bound until the server starts, so each must differ from the others.
    ports[name] = await findFreeLowPort('127.0.0.1', new Set(Object.values(ports)));
  }
  await writeFile(file, JSON.stringify(ports, null, 2));
  return ports;
}

function portsEnv(ports: ServerPorts): Record<string, string> {
  return Object.fromEntries(Object.entries(ports).map(([name, value]) => [name, String(value)]));
}

/** How many sets of internal ports a start tries when one of them was taken in the meantime. */
const PORT_ATTEMPTS = 3;

/** The server exited before it answered; `reason` is its own fatal log line, not the tail of a stack trace. */
export class TemporalStartError extends Error {
  constructor(
    readonly reason: string,
    readonly logFile: string,
  ) {
    super(`Temporal server exited while starting: ${reason} (see ${logFile})`);
    this.name = 'TemporalStartError';
  }

  get portTaken(): boolean {
    return /address already in use/.test(this.reason);
  }
}

/** The first fatal or error line of the server's JSON log, as "message: error (service)"; else the log's tail. */
export function temporalStartFailure(log: string): string {
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string; service?: string };
      if (entry.level !== 'fatal' && entry.level !== 'error') continue;
      return [entry.msg, entry.error].filter(Boolean).join(': ') + (entry.service ? ` (${entry.service})` : '');
    } catch {
      continue;
    }
  }
  return log.slice(-500).trim() || 'nothing in its log';
}

/** Temporal's role, with a password made once and kept in dataDir (readable by its owner only). */
async function ensureTemporalRole(ownerUrl: string, dataDir: string): Promise<string> {
  const password = await keptSecret(join(dataDir, 'temporal-db-password'), () => randomBytes(24).toString('base64url'));
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [TEMPORAL_ROLE]);
    const verb = exists.rowCount ? 'ALTER' : 'CREATE';
    await client.query(`${verb} ROLE ${TEMPORAL_ROLE} LOGIN CREATEDB PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
  return password;
}

async function waitForFrontend(
  address: string,
  child: ChildHandle,
  { logFile, logStart }: { logFile: string; logStart: number },
  timeoutMs: number,
  tls: TemporalTls | undefined,
) {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | undefined;
  void child.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      const log = (await readFile(logFile).catch(() => Buffer.alloc(0))).subarray(logStart).toString('utf8');
      throw new TemporalStartError(`exit ${exitCode}, ${temporalStartFailure(log)}`, logFile);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000, ...(tls ? { tls } : {}) });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(`Temporal server did not answer on ${address} within ${timeoutMs} ms; see ${logFile}`);
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (await isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

import { randomBytes } from 'node:crypto';
import {
  access,
  appendFile,
  chmod,
  chown,
  constants,
  mkdir,
  readdir,
  readFile,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { ConfigError } from '../config/env.js';
import type { Logger } from '../lib/logger.js';
import { runCommand } from '../lib/child-process.js';
import { assertPortFree } from './ports.js';

export interface LocalPostgresOptions {
  /** Holds the cluster (`cluster/`), its log and the generated password; reused on the next start. */
  dataDir: string;
  port: number;
  database: string;
  log: Logger;
  /** Tests trade durability for speed; a developer's stack keeps fsync on. */
  durable?: boolean;
  /** Counts every statement (pg_stat_statements preloaded): the benchmark's profile reads what each connection ran. */
  statementStatistics?: boolean;
}

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const SERVICE_USER = 'postgres';
const ROLE = 'wa_connect';

/**
 * Starts a PostgreSQL cluster that lives in `dataDir`, from Debian's binaries (installed with apt-get when missing).
 * PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` system user.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<RunningPostgres> {
  const binDir = await resolvePostgresBinDir(options.log);
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'cluster');
  const logFile = join(dataDir, 'postgres.log');
  const passwordFile = join(dataDir, 'password');
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) =>
    asRoot
      ? runCommand('runuser', ['-u', SERVICE_USER, '--', join(binDir, tool), ...args])
      : runCommand(join(binDir, tool), args);

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (asRoot) await prepareForServiceUser(dataDir, options.log);

  if (!(await exists(join(clusterDir, 'PG_VERSION')))) {
    options.log.info({ clusterDir }, 'creating a new PostgreSQL cluster');
    const password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password, { mode: 0o600 });
    const pwFileForInit = join(dataDir, 'initdb-password');
    await writeFile(pwFileForInit, password, { mode: 0o600 });
    if (asRoot) await chownToServiceUser(pwFileForInit);
    await run('initdb', [
      '-D',
      clusterDir,
      '-U',
      ROLE,
      `--pwfile=${pwFileForInit}`,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    await writeFile(pwFileForInit, '');
    // Only TCP on loopback: no socket directory to own, nothing reachable from outside this machine.
    await appendFile(
      join(clusterDir, 'postgresql.conf'),
      ['', "listen_addresses = '127.0.0.1'", "unix_socket_directories = ''", 'max_connections = 200', ''].join('\n'),
    );
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();

  const status = await run('pg_ctl', ['status', '-D', clusterDir]).then(
    () => 'running',
    () => 'stopped',
  );
  if (status === 'running') {
    options.log.warn({ clusterDir }, 'stopping a PostgreSQL left running by an earlier start');
    await run('pg_ctl', ['stop', '-D', clusterDir, '-m', 'fast', '-w']);
  }
  await assertPortFree(
    options.port,
    '127.0.0.1',
    'PostgreSQL',
    'set LOCAL_PG_PORT, or DATABASE_URL to use a running server',
  );
  const serverOptions = [
    `-p ${options.port}`,
    ...(options.durable === false ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
    ...(options.statementStatistics ? ['-c shared_preload_libraries=pg_stat_statements'] : []),
  ];
  try {
    await run('pg_ctl', ['start', '-D', clusterDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions.join(' ')]);
  } catch (error) {
    const logTail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-10).join('\n');
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${logTail}`, { cause: error });
  }

  const adminUrl = `postgres://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  await createDatabaseIfMissing(adminUrl, options.database);
  return {
    url: `postgres://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${options.database}`,
    async stop() {
      await run('pg_ctl', ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '30']).catch((error: Error) => {
        options.log.warn({ err: error.message }, 'stopping PostgreSQL failed');
      });
    },
  };
}

async function createDatabaseIfMissing(adminUrl: string, database: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      // CREATE DATABASE takes no bind parameters; the name is quoted as an identifier by pg itself.
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    }
  } finally {
    await client.end();
  }
}

/** PG_BIN_DIR, then Debian's newest /usr/lib/postgresql/N/bin; installs Debian's `postgresql` when none is there. */
export async function resolvePostgresBinDir(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.PG_BIN_DIR) {
    if (await exists(join(env.PG_BIN_DIR, 'pg_ctl'))) return env.PG_BIN_DIR;
    throw new ConfigError(`PG_BIN_DIR=${env.PG_BIN_DIR} has no pg_ctl`);
  }
  const found = await findDebianBinDir();
  if (found) return found;
  if (process.getuid?.() !== 0 || !(await exists('/usr/bin/apt-get'))) {
    throw new ConfigError(
      'no PostgreSQL server binaries found: install PostgreSQL 14+ (Debian: apt-get install postgresql), set PG_BIN_DIR, or set DATABASE_URL',
    );
  }
  log.info('installing PostgreSQL from Debian packages (first time only)');
  await runCommand('apt-get', ['update', '-q']);
  await runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'postgresql'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = await findDebianBinDir();
  if (!installed) throw new ConfigError('apt-get installed postgresql but no /usr/lib/postgresql/N/bin appeared');
  return installed;
}

async function findDebianBinDir(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  const versions = (await readdir(root).catch(() => [] as string[]))
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const binDir = join(root, version, 'bin');
    if (await exists(join(binDir, 'pg_ctl'))) return binDir;
  }
  return undefined;
}

/** The postgres user must own the data directory and be able to walk down to it. */
async function prepareForServiceUser(dataDir: string, log: Logger) {
  await runCommand('id', ['-u', SERVICE_USER]).catch(() =>
    runCommand('useradd', [
      '--system',
      '--home-dir',
      '/var/lib/postgresql',
      '--shell',
      '/usr/sbin/nologin',
      SERVICE_USER,
    ]),
  );
  await chownToServiceUser(dataDir);
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) {
      log.warn({ dir }, 'granting others search (x) permission so the postgres user can reach the data directory');
      await chmod(dir, info.mode | 0o001);
    }
  }
}

async function chownToServiceUser(path: string) {
  await chown(path, await serviceUserId('-u'), await serviceUserId('-g'));
}

/** The service user's uid or gid. Read again a few times: once, on a busy machine, `id` answered without one. */
async function serviceUserId(flag: '-u' | '-g'): Promise<number> {
  let answer = '';
  for (let attempt = 0; attempt < 5; attempt += 1) {
    answer = (await runCommand('id', [flag, SERVICE_USER]).catch((error: Error) => error.message)).trim();
    if (/^\d+$/.test(answer)) return Number.parseInt(answer, 10);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`cannot read the ${SERVICE_USER} user's id (id ${flag} ${SERVICE_USER} answered: ${answer})`);
}

async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

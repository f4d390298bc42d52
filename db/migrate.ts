import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from '../lib/logger.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../sql/', import.meta.url));

interface MigrationFile {
  version: number;
  name: string;
  text: string;
  checksum: string;
}

// A fixed advisory lock key: the worker and every API process migrate at start, one at a time.
const MIGRATION_LOCK_KEY = 7_233_001;

/**
 * How long a starting process waits for PostgreSQL to accept connections. Migrating is the first thing every process
 * does, often beside a database that is itself starting (docker-compose starts the two together, and after a stop a
 * container engine may still report the database as healthy from its last run).
 */
const DATABASE_START_WAIT_MS = 120_000;
const CONNECT_ATTEMPT_TIMEOUT_MS = 10_000;
/**
 * What a database not accepting connections yet answers: refused, its name or route not there yet, still starting
 * (57P03), or nothing within the attempt's timeout; `pg` gives those last two, and a connection closed before its
 * startup finished, no code, only their messages.
 */
const NOT_ACCEPTING_YET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  '57P03',
]);
const NOT_ACCEPTING_YET_MESSAGES = /^(timeout expired|Connection terminated unexpectedly)$/;

/**
 * Applies the numbered files of sql/ that are not applied yet, each in its own transaction, and refuses to go on
 * when an applied file was edited afterwards. Migration files hold several statements, which only the simple query
 * protocol runs, so this one module talks to `pg` directly instead of through slonik.
 */
export async function migrate(databaseUrl: string, log: Logger, directory = MIGRATIONS_DIR): Promise<number[]> {
  const files = await readMigrationFiles(directory);
  const client = await connectWhenAccepting(databaseUrl, log);
  const applied: number[] = [];
  try {
    // The service's own role may not change the schema: with every file applied as it is, it needs nothing more.
    if (await allApplied(client, files)) return [];
    const mayMigrate = await client.query<{ owner: boolean }>(
      `SELECT has_schema_privilege(current_user, 'public', 'CREATE') AS owner`,
    );
    if (!mayMigrate.rows[0]?.owner) {
      throw new Error(
        `the database has migrations to apply and ${client.user ?? 'this role'} may not apply them: run ` +
          '`npm run migrate` with the schema owner (DATABASE_MIGRATION_URL), then start again',
      );
    }
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const doneByVersion = new Map(done.rows.map((row) => [row.version, row.checksum]));
    for (const file of files) {
      const appliedChecksum = doneByVersion.get(file.version);
      if (appliedChecksum !== undefined) {
        if (appliedChecksum !== file.checksum) {
          throw new Error(`migration ${file.name} was edited after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(file.text);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          file.version,
          file.name,
          file.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file.version);
      log.info({ migration: file.name }, 'migration applied');
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

/**
 * A connection, tried again while the database is not accepting connections yet, for DATABASE_START_WAIT_MS. Any
 * other failure (a refused login, a missing database) is final at once: waiting would not change it.
 */
async function connectWhenAccepting(databaseUrl: string, log: Logger): Promise<pg.Client> {
  const deadline = Date.now() + DATABASE_START_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({
      connectionString: databaseUrl,
      connectionTimeoutMillis: CONNECT_ATTEMPT_TIMEOUT_MS,
    });
    try {
      await client.connect();
      if (attempt > 1) log.info({ attempts: attempt }, 'PostgreSQL accepts connections');
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = (error as { code?: unknown }).code;
      const notYet =
        (typeof code === 'string' && NOT_ACCEPTING_YET.has(code)) ||
        (error instanceof Error && NOT_ACCEPTING_YET_MESSAGES.test(error.message));
      if (!notYet || Date.now() >= deadline) throw error;
      if (attempt === 1) {
        // Where it waits (never the URL: it holds the password), so a mistyped host is seen before the wait ends.
        log.warn(
          { code, host: client.host, port: client.port, waitSeconds: DATABASE_START_WAIT_MS / 1000 },
          'PostgreSQL is not accepting connections yet',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** Every file is recorded with its checksum (a read-only check: any role that may read schema_migrations). */
async function allApplied(client: pg.Client, files: MigrationFile[]): Promise<boolean> {
  const table = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`,
  );
  if (!table.rows[0]?.exists) return false;
  const done = await client.query<{ version: number; checksum: string }>(
    'SELECT version, checksum FROM schema_migrations',
  );
  const doneByVersion = new Map(done.rows.map((row) => [row.version, row.checksum]));
  return files.every((file) => doneByVersion.get(file.version) === file.checksum);
}

async function readMigrationFiles(directory: string): Promise<MigrationFile[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = /^(\d{4})_[a-z0-9_]+\.sql$/.exec(name);
    if (!match?.[1]) throw new Error(`migration file ${name} must be named NNNN_snake_case.sql`);
    const text = await readFile(join(directory, name), 'utf8');
    files.push({ version: Number(match[1]), name, text, checksum: createHash('sha256').update(text).digest('hex') });
  }
  const versions = files.map((file) => file.version);
  if (new Set(versions).size !== versions.length) throw new Error('two migration files share a version number');
  return files;
}

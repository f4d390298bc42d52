import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { migrate, MIGRATIONS_DIR } from '../../db/migrate.js';
import { createDatabasePool } from '../../db/pool.js';
import { ensureServiceLogin } from '../../db/service-login.js';
import type { ChildHandle } from '../../infra/child-process.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { openTemporalClient, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

/** The service's processes log in with row access only: a stolen service password cannot change or drop the schema. */
describe('the service’s database role', () => {
  let serviceUrl: string;
  let servicePool: DatabasePool;
  let temporal: Client;
  let closeTemporal: () => Promise<void>;
  let worker: ChildHandle | undefined;

  before(async () => {
    serviceUrl = await ensureServiceLogin(testStackEnv().databaseUrl, {
      name: uniqueId('svc').toLowerCase().replaceAll('-', '_'),
      password: randomBytes(18).toString('base64url'),
    });
    servicePool = await createDatabasePool(serviceUrl, { maximumPoolSize: 4 });
    ({ client: temporal, close: closeTemporal } = await openTemporalClient());
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await closeTemporal?.();
    await servicePool?.end();
  });

  it('reads and writes rows, and is refused every change of schema, role or migration record', async () => {
    const flags = await servicePool.one(sql.unsafe`
      SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user
    `);
    assert.deepEqual(flags, { rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    const workspaceId = uniqueId('ws-role');
    await servicePool.query(sql.unsafe`INSERT INTO workspaces (id) VALUES (${workspaceId}) ON CONFLICT DO NOTHING`);
    assert.equal(
      await servicePool.oneFirst(sql.unsafe`SELECT count(*)::int FROM workspaces WHERE id = ${workspaceId}`),
      1,
    );
    for (const statement of [
      sql.unsafe`CREATE TABLE stolen (x int)`,
      sql.unsafe`DROP TABLE account_events`,
      sql.unsafe`ALTER TABLE whatsapp_accounts ADD COLUMN x int`,
      sql.unsafe`TRUNCATE engine_auth`,
      sql.unsafe`DELETE FROM schema_migrations`,
      sql.unsafe`CREATE ROLE intruder LOGIN`,
      sql.unsafe`SELECT rolpassword FROM pg_authid`,
      sql.unsafe`CREATE DATABASE stolen`,
    ]) {
      await assert.rejects(servicePool.query(statement), /permission denied|must be|not allowed/, statement.sql);
    }
  });

  it('starts with the schema up to date, and names the fix when a migration is pending', async () => {
    assert.deepEqual(await migrate(serviceUrl, testLog), [], 'nothing to do, nothing refused');
    const directory = await mkdtemp(join(tmpdir(), 'migrations-ahead-'));
    try {
      await cp(MIGRATIONS_DIR, directory, { recursive: true });
      await writeFile(join(directory, '9999_ahead.sql'), 'CREATE TABLE ahead (x int);\n');
      await assert.rejects(migrate(serviceUrl, testLog, directory), /npm run migrate.*DATABASE_MIGRATION_URL/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('is all a worker needs: an account connects with the worker logged in as it', async () => {
    const started = await startTestWorker({ ...FAST_SIMULATOR_ENV, DATABASE_URL: serviceUrl });
    worker = started.worker;
    const accounts = new AccountDriver(servicePool, temporal, started.taskQueue);
    const { sessionId } = await accounts.create();
    await accounts.showingQr(sessionId);
    const phone = randomPhone();
    await accounts.phone(sessionId, 'scan', { phone });
    const connected = await accounts.rowWithStatus(sessionId, 'connected');
    assert.equal(connected.phone_number, phone);
  });
});

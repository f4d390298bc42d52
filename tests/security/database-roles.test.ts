import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { findAccountBySession } from '../../db/accounts.js';
import { setWebhookSetting } from '../../db/webhook-endpoints.js';
import { migrate, MIGRATIONS_DIR } from '../../db/migrate.js';
import { createDatabasePool } from '../../db/pool.js';
import { webhookSecrets } from '../../db/webhook-secrets.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { ensureProcessLogin, type ServiceProcess } from '../../db/service-login.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { verifyWebhook } from '../../webhooks/signing.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { eventually, openPool, openTemporalClient, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';
import { RecordingReceiver } from '../helpers/recording-receiver.js';

const DENIED = /permission denied|must be|not allowed/;

/**
 * The worker and the API log in each as a role of its own, with row access only to what its code does: a stolen
 * password of either cannot change the schema, and the worker's (the process running Chromium) cannot mint an API key.
 */
describe('the processes’ database roles', () => {
  const urls = {} as Record<ServiceProcess, string>;
  const pools = {} as Record<ServiceProcess, DatabasePool>;
  let owner: DatabasePool;
  let temporal: Client;
  let closeTemporal: () => Promise<void>;
  let worker: ChildHandle | undefined;

  before(async () => {
    owner = await openPool();
    for (const serviceProcess of ['worker', 'api'] as const) {
      urls[serviceProcess] = await ensureProcessLogin(testStackEnv().databaseUrl, serviceProcess, {
        name: uniqueId(serviceProcess).toLowerCase().replaceAll('-', '_'),
        password: randomBytes(18).toString('base64url'),
      });
      pools[serviceProcess] = await createDatabasePool(urls[serviceProcess], { maximumPoolSize: 4 });
    }
    ({ client: temporal, close: closeTemporal } = await openTemporalClient());
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await closeTemporal?.();
    await Promise.all(Object.values(pools).map((pool) => pool.end()));
    await owner?.end();
  });

  const refused = async (pool: DatabasePool, statements: ReturnType<typeof sql.unsafe>[]) => {
    for (const statement of statements) await assert.rejects(pool.query(statement), DENIED, statement.sql);
  };

  it('neither may change schema, role or migration record', async () => {
    for (const pool of Object.values(pools)) {
      const flags = await pool.one(sql.unsafe`
        SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user
      `);
      assert.deepEqual(flags, { rolsuper: false, rolcreaterole: false, rolcreatedb: false });
      await refused(pool, [
        sql.unsafe`CREATE TABLE stolen (x int)`,
        sql.unsafe`DROP TABLE account_events`,
        sql.unsafe`ALTER TABLE whatsapp_accounts ADD COLUMN x int`,
        sql.unsafe`TRUNCATE engine_auth`,
        sql.unsafe`DELETE FROM schema_migrations`,
        sql.unsafe`CREATE ROLE intruder LOGIN`,
        sql.unsafe`SELECT rolpassword FROM pg_authid`,
        sql.unsafe`CREATE DATABASE stolen`,
      ]);
    }
  });

  it('the worker may not touch API keys or operator sessions, and reads webhook secrets only sealed', async () => {
    const workspaceId = uniqueId('ws-role');
    await owner.query(sql.unsafe`INSERT INTO workspaces (id) VALUES (${workspaceId})`);
    await webhookSecrets(owner, keyringFromEnv(process.env), workspaceId);
    await refused(pools.worker, [
      sql.unsafe`INSERT INTO api_keys (key_prefix, key_hash, workspace_id, name) VALUES ('wak_000000000000', 'x', NULL, 'minted')`,
      sql.unsafe`SELECT key_hash FROM api_keys`,
      sql.unsafe`UPDATE api_keys SET revoked_at = NULL`,
      sql.unsafe`SELECT * FROM operator_sessions`,
      sql.unsafe`INSERT INTO workspaces (id) VALUES (${uniqueId('ws-minted')})`,
      sql.unsafe`UPDATE webhook_endpoints SET url = 'https://attacker.example/' WHERE workspace_id = ${workspaceId}`,
      sql.unsafe`INSERT INTO webhook_endpoints (id, workspace_id, url) VALUES ('we_000000000000000000000000', ${workspaceId}, 'https://attacker.example/')`,
      sql.unsafe`DELETE FROM whatsapp_accounts`,
    ]);
    const stored = await pools.worker.any(sql.type(z.object({ secret: z.string() }))`
      SELECT webhook_secret AS secret FROM workspaces WHERE webhook_secret IS NOT NULL
      UNION ALL SELECT previous_webhook_secret FROM workspaces WHERE previous_webhook_secret IS NOT NULL
    `);
    assert.ok(stored.length > 0);
    assert.deepEqual(
      stored.filter(({ secret }) => !secret.startsWith('sealed1:')),
      [],
      'what the worker can read of a signing secret is sealed',
    );
  });

  it('the API may not read or save logins, nor take, renew or read session leases', async () => {
    await refused(pools.api, [
      sql.unsafe`SELECT data FROM engine_auth`,
      sql.unsafe`SELECT wrapped_key FROM engine_auth`,
      sql.unsafe`INSERT INTO engine_auth (session_id, engine, data) VALUES ('stolen', 'real', '\\x00')`,
      sql.unsafe`UPDATE engine_auth SET data = '\\x00'`,
      sql.unsafe`SELECT * FROM session_leases`,
      sql.unsafe`INSERT INTO session_leases (session_id, host, epoch, expires_at) VALUES ('x', 'api', 1, now())`,
      sql.unsafe`UPDATE session_leases SET expires_at = now()`,
      sql.unsafe`INSERT INTO session_clients (session_id, host, epoch) VALUES ('x', 'api', 1)`,
      sql.unsafe`INSERT INTO webhook_deliveries (event_id, workspace_id, session_id, url, attempt, delivered) VALUES (1, 'w', 's', 'u', 1, true)`,
    ]);
    // An account deleted while its workflow is gone has its login removed by the API: that much it may do.
    await pools.api.query(sql.unsafe`DELETE FROM engine_auth WHERE session_id = ${uniqueId('gone')}`);
  });

  it('both start with the schema up to date, and name the fix when a migration is pending', async () => {
    for (const url of Object.values(urls)) {
      assert.deepEqual(await migrate(url, testLog), [], 'nothing to do, nothing refused');
      const directory = await mkdtemp(join(tmpdir(), 'migrations-ahead-'));
      try {
        await cp(MIGRATIONS_DIR, directory, { recursive: true });
        await writeFile(join(directory, '9999_ahead.sql'), 'CREATE TABLE ahead (x int);\n');
        await assert.rejects(migrate(url, testLog, directory), /npm run migrate.*DATABASE_MIGRATION_URL/);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    }
  });

  it('are all each process needs: an account connects and its webhook is signed, each logged in as its own', async () => {
    const receiver = await RecordingReceiver.start();
    try {
      const started = await startTestWorker({ ...FAST_SIMULATOR_ENV, DATABASE_URL: urls.worker });
      worker = started.worker;
      // What the API does for an account (create it, set its webhook, play the simulated phone), as the API's login.
      const accounts = new AccountDriver(pools.api, temporal, started.taskQueue);
      const workspaceId = await ensureWorkspace(pools.api, uniqueId('ws-roles')).then((row) => row.id);
      const { sessionId } = await accounts.create({ workspaceId });
      const account = await findAccountBySession(pools.api, workspaceId, sessionId);
      assert.ok(account, 'the account just created');
      await setWebhookSetting(pools.api, { workspaceId, accountId: account.id, url: receiver.url });
      await accounts.showingQr(sessionId);
      const phone = randomPhone();
      await accounts.phone(sessionId, 'scan', { phone });
      const connected = await accounts.rowWithStatus(sessionId, 'connected');
      assert.equal(connected.phone_number, phone);
      // No one asked for the workspace's secret: the worker issued it, sealed, and signed with it.
      const ready = await eventually(
        async () => receiver.received.find(({ body }) => body.includes(sessionId) && body.includes('session_ready')),
        60_000,
        'the session_ready delivery',
      );
      const secrets = await webhookSecrets(owner, keyringFromEnv(process.env), workspaceId);
      assert.ok(secrets);
      assert.equal(verifyWebhook({ headers: ready.headers, rawBody: ready.body, secret: secrets.current }).ok, true);
    } finally {
      await receiver.close();
    }
  });
});

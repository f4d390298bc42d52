import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sql, type DatabasePool } from 'slonik';
import { insertAccount } from '../../db/accounts.js';
import { migrate, MIGRATIONS_DIR } from '../../db/migrate.js';
import { openPool, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { openTcpRelay } from '../helpers/tcp-relay.js';

/** Matches slonik's mapped constraint errors by the constraint's name. */
const violates = (constraint: string) => (error: unknown) =>
  (error as { constraint?: string }).constraint === constraint;

describe('schema and migrations', () => {
  let pool: DatabasePool;
  before(async () => {
    pool = await openPool();
  });
  after(async () => {
    await pool.end();
  });

  it('re-running the migrations applies nothing', async () => {
    assert.deepEqual(await migrate(testStackEnv().databaseUrl, testLog), []);
  });

  it('waits for a database that does not accept connections yet, and migrates once it does', async () => {
    const database = new URL(testStackEnv().databaseUrl);
    const relay = await openTcpRelay({ host: database.hostname, port: Number(database.port || 5432) });
    try {
      await relay.cut();
      const throughRelay = new URL(database);
      throughRelay.hostname = '127.0.0.1';
      throughRelay.port = String(relay.port);
      const startedAt = Date.now();
      const migrating = migrate(throughRelay.toString(), testLog);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await relay.restore();
      assert.deepEqual(await migrating, []);
      assert.ok(Date.now() - startedAt >= 2_500, 'it connected only once the database accepted connections');
    } finally {
      await relay.close();
    }
  });

  it('fails at once when the database refuses the connection for good (no such database)', async () => {
    const missing = new URL(testStackEnv().databaseUrl);
    missing.pathname = `/${uniqueId('missing')}`;
    const startedAt = Date.now();
    await assert.rejects(migrate(missing.toString(), testLog), (error: unknown) => {
      assert.equal((error as { code?: string }).code, '3D000');
      return true;
    });
    assert.ok(Date.now() - startedAt < 10_000, 'a final refusal is not waited out');
  });

  it('refuses a status outside the five of the status flow', async () => {
    const { row } = await insertAccount(pool, { workspaceId: uniqueId('ws'), sessionId: uniqueId('s') });
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE whatsapp_accounts SET status = 'online' WHERE id = ${row.id}`),
      violates('whatsapp_accounts_status_check'),
    );
  });

  it('refuses a second live row with the same phone in a workspace, allows it once the first is deleted', async () => {
    const workspaceId = uniqueId('ws');
    const first = await insertAccount(pool, { workspaceId, sessionId: uniqueId('s') });
    const second = await insertAccount(pool, { workspaceId, sessionId: uniqueId('s') });
    await pool.query(sql.unsafe`UPDATE whatsapp_accounts SET phone_number = '62811801641' WHERE id = ${first.row.id}`);
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE whatsapp_accounts SET phone_number = '62811801641' WHERE id = ${second.row.id}`),
      violates('whatsapp_accounts_live_phone_uq'),
    );
    await pool.query(sql.unsafe`UPDATE whatsapp_accounts SET deleted_at = now() WHERE id = ${first.row.id}`);
    await pool.query(sql.unsafe`UPDATE whatsapp_accounts SET phone_number = '62811801641' WHERE id = ${second.row.id}`);
  });

  it('refuses a second primary in a workspace and a primary that is not connected', async () => {
    const workspaceId = uniqueId('ws');
    const a = await insertAccount(pool, { workspaceId, sessionId: uniqueId('s') });
    const b = await insertAccount(pool, { workspaceId, sessionId: uniqueId('s') });
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE whatsapp_accounts SET is_primary = true WHERE id = ${a.row.id}`),
      violates('whatsapp_accounts_primary_is_connected'),
    );
    await pool.query(
      sql.unsafe`UPDATE whatsapp_accounts SET status = 'connected' WHERE id IN (${a.row.id}, ${b.row.id})`,
    );
    await pool.query(sql.unsafe`UPDATE whatsapp_accounts SET is_primary = true WHERE id = ${a.row.id}`);
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE whatsapp_accounts SET is_primary = true WHERE id = ${b.row.id}`),
      violates('whatsapp_accounts_one_primary_uq'),
    );
  });

  it('keeps account_events append-only', async () => {
    const { row } = await insertAccount(pool, { workspaceId: uniqueId('ws'), sessionId: uniqueId('s') });
    await pool.query(sql.unsafe`
      INSERT INTO account_events (account_id, workspace_id, session_id, type) VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, 'test_event')
    `);
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE account_events SET type = 'changed' WHERE account_id = ${row.id}`),
      /append-only/,
    );
    await assert.rejects(
      pool.query(sql.unsafe`DELETE FROM account_events WHERE account_id = ${row.id}`),
      /append-only/,
    );
  });

  it('lets the event log forget a shown QR, and nothing else', async () => {
    const { row } = await insertAccount(pool, { workspaceId: uniqueId('ws'), sessionId: uniqueId('s') });
    await pool.query(sql.unsafe`
      INSERT INTO account_events (account_id, workspace_id, session_id, type, data)
      VALUES (${row.id}, ${row.workspace_id}, ${row.session_id}, 'qr', '{"qr": "2@secret", "qrGenerationMs": 812}')
    `);
    const qrEvent = sql.fragment`account_id = ${row.id} AND type = 'qr'`;
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE account_events SET data = '{}' WHERE ${qrEvent}`),
      /append-only/,
      'the timings stay',
    );
    await assert.rejects(
      pool.query(sql.unsafe`UPDATE account_events SET data = data - 'qr', status = 'failed' WHERE ${qrEvent}`),
      /append-only/,
      'nothing else changes with it',
    );
    await pool.query(sql.unsafe`UPDATE account_events SET data = data - 'qr' - 'code' WHERE ${qrEvent}`);
    const data = await pool.oneFirst(sql.unsafe`SELECT data FROM account_events WHERE ${qrEvent}`);
    assert.deepEqual(data, { qrGenerationMs: 812 });
  });

  it('the same session id twice gives one account; in another workspace it is another account', async () => {
    const workspaceId = uniqueId('ws');
    const sessionId = uniqueId('s');
    const first = await insertAccount(pool, { workspaceId, sessionId });
    const again = await insertAccount(pool, { workspaceId, sessionId });
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.equal(again.row.id, first.row.id);
    const elsewhere = await insertAccount(pool, { workspaceId: uniqueId('ws'), sessionId });
    assert.equal(elsewhere.created, true);
    assert.notEqual(elsewhere.row.id, first.row.id);
  });

  it('applies to an empty database from scratch and refuses an applied migration that was edited', async () => {
    const admin = new pg.Client({ connectionString: testStackEnv().databaseUrl });
    await admin.connect();
    const database = `mig_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(testStackEnv().databaseUrl);
    url.pathname = `/${database}`;
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const applied = await migrate(url.toString(), testLog, dir);
      assert.ok(applied.length >= 2, `applied ${applied.join(',')}`);
      const first = join(dir, '0001_whatsapp_accounts.sql');
      await writeFile(first, `${await readFile(first, 'utf8')}\n-- edited\n`);
      await assert.rejects(migrate(url.toString(), testLog, dir), /was edited after it was applied/);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});

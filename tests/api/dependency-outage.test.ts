import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { createDatabasePool } from '../../db/pool.js';
import { findFreePort } from '../../infra/ports.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { buildTestApi } from '../helpers/api.js';
import { openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { openTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';

describe('requests while a dependency cannot be reached', () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
  });
  after(async () => {
    await closeClient();
    await pool.end();
  });

  it('answers 503 database_unavailable with Retry-After while PostgreSQL is away, and the same request once it is back', async () => {
    const database = new URL(testStackEnv().databaseUrl);
    const relay: TcpRelay = await openTcpRelay({ host: database.hostname, port: Number(database.port || 5432) });
    const relayedUrl = new URL(database);
    relayedUrl.hostname = '127.0.0.1';
    relayedUrl.port = String(relay.port);
    const relayedPool = await createDatabasePool(relayedUrl.toString(), { maximumPoolSize: 2 });
    const api = await buildTestApi(relayedPool, client, { taskQueue: 'unused', simulator: false });
    try {
      const workspace = uniqueId('ws-outage');
      const key = await api.keyFor(workspace);
      const list = { method: 'GET', url: `/v1/workspaces/${workspace}/accounts` } as const;
      assert.equal((await api.as(key, list)).statusCode, 200, 'answers while PostgreSQL is there');

      await relay.cut();
      const away = await api.as(key, list);
      assert.equal(away.statusCode, 503, away.body);
      assert.match(String(away.headers['content-type']), /application\/problem\+json/);
      assert.equal(away.json().code, 'database_unavailable');
      assert.ok(Number(away.headers['retry-after']) > 0, 'says when to come back');
      assert.doesNotMatch(away.body, /ECONNREFUSED|at .*\.ts:\d+|127\.0\.0\.1/, 'names no address and no stack');

      await relay.restore();
      assert.equal((await api.as(key, list)).statusCode, 200, 'the same request answers once PostgreSQL is back');
    } finally {
      await api.app.close();
      // The connection the cut killed is still in slonik's pool, and ending it throws.
      await relayedPool.end().catch(() => undefined);
      await relay.close();
    }
  });

  it('answers 503 temporal_unavailable with Retry-After to a create while Temporal is away', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await findFreePort()}`, connectTimeout: 1_000 });
    const away = new Client({ connection, dataConverter: dataConverterFromEnv(process.env) });
    const api = await buildTestApi(pool, away, { taskQueue: 'unused', simulator: false });
    try {
      const workspace = uniqueId('ws-outage');
      const key = await api.keyFor(workspace);
      const response = await api.as(key, {
        method: 'POST',
        url: `/v1/workspaces/${workspace}/accounts`,
        payload: { sessionId: 'away' },
      });
      assert.equal(response.statusCode, 503, response.body);
      assert.equal(response.json().code, 'temporal_unavailable');
      assert.ok(Number(response.headers['retry-after']) > 0, 'says when to come back');
    } finally {
      // As in the readiness test: a connection that never connected is left to the process's end.
      await api.app.close();
    }
  });
});

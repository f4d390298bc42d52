import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { openPool, testStackEnv, uniqueId } from '../helpers/context.js';

describe('nothing left behind when Temporal refuses a start', () => {
  let pool: DatabasePool;
  let api: TestApi;

  before(async () => {
    pool = await openPool();
    // A client whose connection is already closed: every workflow start fails.
    const connection = await Connection.connect({ address: testStackEnv().temporalAddress });
    await connection.close();
    const client = new Client({ connection, dataConverter: dataConverterFromEnv(process.env) });
    api = await buildTestApi(pool, client, { taskQueue: uniqueId('tq'), simulator: false });
  });
  after(async () => {
    await api.app.close();
    await pool.end();
  });

  it('an account whose session id the service made up leaves no row that would wait forever', async () => {
    const workspaceId = uniqueId('ws-start');
    const response = await api.as(api.adminKey, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: {},
    });
    assert.ok(response.statusCode >= 500, response.body);
    assert.match(String(response.headers['content-type']), /problem\+json/);
    const listed = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts` });
    assert.deepEqual(listed.json().items, []);
  });

  it("a caller's own session id keeps its row: the same request again completes the account", async () => {
    const workspaceId = uniqueId('ws-start');
    const sessionId = uniqueId('mine');
    const response = await api.as(api.adminKey, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId },
    });
    assert.ok(response.statusCode >= 500, response.body);
    const listed = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts` });
    assert.deepEqual(
      listed.json().items.map((item: { sessionId: string }) => item.sessionId),
      [sessionId],
    );
  });
});

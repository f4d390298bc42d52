import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { PgListener } from '../../lib/pg-listener.js';
import { eventually, openPool, testLog, testStackEnv, uniqueId } from '../helpers/context.js';

describe('PgListener', () => {
  it('reconnects after its connection is killed, says so, and hears notifications again', async () => {
    const pool = await openPool();
    const channel = uniqueId('test_channel').replaceAll('-', '_');
    const heard: string[] = [];
    let reconnects = 0;
    const listener = new PgListener({
      databaseUrl: testStackEnv().databaseUrl,
      channel,
      onNotification: (payload) => heard.push(payload),
      onReconnected: () => {
        reconnects += 1;
      },
      log: testLog,
    });
    try {
      await listener.start();
      await pool.query(sql.unsafe`SELECT pg_notify(${channel}, 'one')`);
      await eventually(async () => (heard.includes('one') ? true : undefined), 5_000, 'the first notification');

      await pool.query(
        sql.unsafe`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE ${`LISTEN%${channel}%`}`,
      );
      await eventually(async () => (reconnects === 1 ? true : undefined), 10_000, 'a reconnect');
      await pool.query(sql.unsafe`SELECT pg_notify(${channel}, 'two')`);
      await eventually(
        async () => (heard.includes('two') ? true : undefined),
        5_000,
        'a notification after the reconnect',
      );
      assert.deepEqual(heard, ['one', 'two'], 'each notification heard once');
      assert.equal(reconnects, 1);
    } finally {
      await listener.stop();
      await pool.end();
    }
  });
});

import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
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

  it('finds a connection the network dropped without a word (no error, no close) and listens again', async () => {
    // A loopback relay to the database that can go silent: it stops passing bytes both ways and closes nothing, as a
    // partition does. New connections through it work again.
    const target = new URL(testStackEnv().databaseUrl);
    const silenced = new Set<Socket>();
    const relay = createServer((inbound) => {
      const outbound = connect(Number(target.port), target.hostname);
      for (const [from, to] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        from.on('data', (chunk: Buffer) => {
          if (!silenced.has(inbound)) to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => to.destroy());
      }
      relay.on('silence', () => silenced.add(inbound));
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const address = relay.address();
    assert.ok(address && typeof address === 'object');
    const viaRelay = new URL(testStackEnv().databaseUrl);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(address.port);

    const pool = await openPool();
    const channel = uniqueId('test_channel').replaceAll('-', '_');
    const heard: string[] = [];
    let reconnects = 0;
    const listener = new PgListener({
      databaseUrl: viaRelay.toString(),
      channel,
      onNotification: (payload) => heard.push(payload),
      onReconnected: () => {
        reconnects += 1;
      },
      log: testLog,
    });
    try {
      await listener.start();
      relay.emit('silence');
      const silencedAt = Date.now();
      await eventually(async () => (reconnects === 1 ? true : undefined), 40_000, 'a reconnect after the silence');
      assert.ok(Date.now() - silencedAt < 40_000);
      await pool.query(sql.unsafe`SELECT pg_notify(${channel}, 'after')`);
      await eventually(async () => (heard.includes('after') ? true : undefined), 5_000, 'a notification after it');
    } finally {
      await listener.stop();
      await pool.end();
      for (const socket of silenced) socket.destroy();
      relay.close();
    }
  });
  it('stopped while it is still connecting, it keeps no connection listening', async () => {
    const pool = await openPool();
    const channel = uniqueId('test_channel').replaceAll('-', '_');
    const listener = new PgListener({
      databaseUrl: testStackEnv().databaseUrl,
      channel,
      onNotification: () => undefined,
      onReconnected: () => undefined,
      log: testLog,
    });
    const listening = async () =>
      pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM pg_stat_activity WHERE query ILIKE ${`LISTEN%${channel}%`}`);
    try {
      const starting = listener.start();
      await listener.stop();
      await starting;
      // The connection it was making has had time to open and to LISTEN.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(await listening(), 0, 'no connection listens on its channel');
    } finally {
      await listener.stop();
      await pool.end();
    }
  });
});

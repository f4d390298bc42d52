import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { EngineAuthStore, StaleLeaseError } from '../../db/engine-auth.js';
import { acquireLease, askHolderToStop, leasedElsewhere, releaseLease, renewLeases } from '../../db/session-leases.js';
import { readProcessEnv } from '../../config/env.js';
import { createEngine } from '../../engine/create-engine.js';
import {
  HostLeases,
  leaseTimings,
  SessionLeasedElsewhere,
  type HostLeaseTimings,
  type LostLease,
} from '../../engine/host-leases.js';
import { SessionHost, SessionStoppedWhileStarting } from '../../engine/session-host.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { createDatabasePool } from '../../db/pool.js';
import { openPool, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { openTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';

/** A host's pool that reaches the database through a loopback relay the test can cut or hold. */
async function poolThroughRelay(maximumPoolSize: number) {
  const target = new URL(testStackEnv().databaseUrl);
  const relay = await openTcpRelay({ host: target.hostname, port: Number(target.port || 5432) });
  const relayed = new URL(target);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(relay.port);
  return { relay, hostPool: await createDatabasePool(relayed.toString(), { maximumPoolSize }) };
}

/**
 * Ends a host's pool and its relay. Ending a pool waits for a query still in flight on it and rejects with that
 * query's error (a renewal that met a connection the cut closed), as the worker's own shutdown expects
 * (workers/main.ts); the relay must close either way, or its listener keeps the test file alive.
 */
async function closeRelayedPool(hostPool: DatabasePool, relay: TcpRelay): Promise<void> {
  await hostPool
    .end()
    .catch((error: unknown) => testLog.warn({ err: error }, 'a relayed connection was gone at the end'));
  await relay.close();
}

/** A host's `onLost` that notes each lost session as `id:why`. */
function recordLosses(lost: string[]) {
  return async (leases: readonly LostLease[], why: string) => {
    lost.push(...leases.map(({ sessionId }) => `${sessionId}:${why}`));
  };
}

/** A host of simulated sessions with leases of its own, that stops the clients it is asked to stop. */
async function leasedHost(pool: DatabasePool, name: string, timings: HostLeaseTimings) {
  let sessions: SessionHost | null = null;
  const leases = new HostLeases(
    pool,
    name,
    async (lost) => {
      for (const { sessionId, epoch } of lost) await sessions?.stopClient(sessionId, epoch);
    },
    testLog,
    timings,
    {
      stopAsked: async (stops) => {
        for (const { sessionId, epoch, logout, forgetLogin } of stops)
          await sessions?.stopClient(sessionId, epoch, { logout, forgetLogin });
      },
    },
  );
  const engine = await createEngine(
    readProcessEnv({
      ...process.env,
      WA_ENGINE: 'simulated',
      ENGINE_DATA_DIR: `${testStackEnv().dataDir}/${uniqueId(name)}`,
    }),
    pool,
    testLog,
  );
  sessions = new SessionHost(
    engine,
    async () => 'delivered',
    testLog,
    () => undefined,
    leases,
  );
  leases.start();
  const host = sessions;
  return {
    leases,
    sessions: host,
    start: (sessionId: string, generation: number) =>
      host.start({ sessionId, owner: 'test', accountRun: 'run-1', generation, pairingPhoneNumber: null }),
    close: async () => {
      leases.stop();
      await host.stopAll();
      await engine.close();
    },
  };
}

/** A host that renews its leases every 300 ms, and whose leases would take a minute to lapse. */
const RENEWS_OFTEN_LAPSES_LATE: HostLeaseTimings = { ttlMs: 60_000, renewEveryMs: 300, safetyMs: 10_000 };

/** The session's clients in the audit, oldest first. */
async function clientsOf(pool: DatabasePool, sessionId: string) {
  return pool.any(
    sql.type(
      z.object({ host: z.string(), epoch: z.number(), started_at: z.number(), ended_at: z.number().nullable() }),
    )`SELECT host, epoch, started_at, ended_at FROM session_clients WHERE session_id = ${sessionId} ORDER BY epoch`,
  );
}

describe('session leases: one host per session', () => {
  let pool: DatabasePool;
  before(async () => {
    pool = await openPool();
  });
  after(async () => {
    await pool?.end();
  });

  it('a lease another host holds is refused until it expires; taking it over raises the epoch; the old holder cannot renew', async () => {
    const sessionId = uniqueId('lease');
    const first = await acquireLease(pool, sessionId, 'host-a', 400);
    assert.equal(first?.epoch, 1);
    assert.equal(await acquireLease(pool, sessionId, 'host-b', 400), null, 'held by host-a');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const taken = await acquireLease(pool, sessionId, 'host-b', 10_000);
    assert.equal(taken?.epoch, 2, 'taken over after expiry, under a new epoch');
    const renewal = await renewLeases(pool, 'host-a', new Map([[sessionId, 1]]), 10_000);
    assert.deepEqual([...renewal.stillHeld], [], 'host-a learns it lost the session');
  });

  it('a drained host learns which of its sessions another host runs now: a live lease elsewhere, not its own or a lapsed one', async () => {
    const [moved, stillHere, lapsed, released] = ['moved', 'here', 'lapsed', 'released'].map((name) =>
      uniqueId(`landed-${name}`),
    ) as [string, string, string, string];
    await acquireLease(pool, moved, 'host-b', 10_000);
    await acquireLease(pool, stillHere, 'host-a', 10_000);
    await acquireLease(pool, lapsed, 'host-b', 100);
    const releasedLease = await acquireLease(pool, released, 'host-b', 10_000);
    await releaseLease(pool, released, 'host-b', releasedLease?.epoch ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const landed = await leasedElsewhere(pool, 'host-a', [moved, stillHere, lapsed, released, uniqueId('never')]);
    assert.deepEqual([...landed], [moved]);
  });

  it('a login saved under a stale epoch is refused and changes nothing; the holder’s save goes through', async () => {
    const sessionId = uniqueId('fenced');
    const store = new EngineAuthStore(pool, keyringFromEnv(process.env));
    await acquireLease(pool, sessionId, 'host-a', 100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await acquireLease(pool, sessionId, 'host-b', 10_000);
    await store.save(sessionId, 'simulated', Buffer.from('new owner'), null, { host: 'host-b', epoch: 2 });
    await assert.rejects(
      store.save(sessionId, 'simulated', Buffer.from('late write'), null, { host: 'host-a', epoch: 1 }),
      StaleLeaseError,
    );
    assert.equal((await store.load(sessionId))?.toString(), 'new owner');
  });

  it('a released lease passes on at once under a higher epoch, and the host that released it can no longer save', async () => {
    const sessionId = uniqueId('released');
    const store = new EngineAuthStore(pool, keyringFromEnv(process.env));
    const held = await acquireLease(pool, sessionId, 'host-a', 10_000);
    assert.equal(held?.epoch, 1);
    await releaseLease(pool, sessionId, 'host-a', 1);
    const next = await acquireLease(pool, sessionId, 'host-b', 10_000);
    assert.equal(next?.epoch, 2, 'epochs of a session only grow, released or not');
    await assert.rejects(
      store.save(sessionId, 'simulated', Buffer.from('after release'), null, { host: 'host-a', epoch: 1 }),
      StaleLeaseError,
    );
    await releaseLease(pool, sessionId, 'host-b', 2);
    await assert.rejects(
      store.save(sessionId, 'simulated', Buffer.from('released, nobody took it'), null, { host: 'host-b', epoch: 2 }),
      StaleLeaseError,
      'a released lease fences its own host too',
    );
  });

  it('a stop asked through the lease reaches its holder’s renewal only for its account and its generation or an older one; taking the lease clears it', async () => {
    const sessionId = uniqueId('asked');
    const held = await acquireLease(pool, sessionId, 'host-a', 10_000, { accountRun: 'run-1', generation: 3 });
    assert.ok(held);
    const renew = async () => (await renewLeases(pool, 'host-a', new Map([[sessionId, held.epoch]]), 10_000)).stopAsked;
    const ask = (throughGeneration: number, logout = false, accountRun = 'run-1') =>
      askHolderToStop(pool, sessionId, { accountRun, throughGeneration, logout, forgetLogin: false });
    assert.equal(await ask(2), null, 'a request for older generations leaves the client of generation 3 alone');
    assert.equal(await ask(9, true, 'run-2'), null, 'so does one of another account under the same session id');
    assert.deepEqual([...(await renew()).keys()], [], 'nothing asked of the holder');
    assert.equal(await ask(3, true), 'host-a', 'a stop of generation 3 reaches its holder');
    assert.equal(await ask(4), 'host-a', 'so does a newer start’s; the logout asked before stays asked');
    assert.deepEqual([...(await renew())], [[sessionId, { logout: true, forgetLogin: false }]]);
    const again = await acquireLease(pool, sessionId, 'host-a', 10_000, { accountRun: 'run-1', generation: 5 });
    assert.equal(again?.epoch, held.epoch + 1);
    const renewed = await renewLeases(pool, 'host-a', new Map([[sessionId, held.epoch + 1]]), 10_000);
    assert.deepEqual([...renewed.stopAsked], [], 'the newer client taking the lease carries no request');
    assert.equal(
      await askHolderToStop(pool, uniqueId('nobody'), {
        accountRun: 'run-1',
        throughGeneration: 9,
        logout: false,
        forgetLogin: false,
      }),
      null,
    );
  });

  it('a stop written while its client still waits for the lease is kept when that client takes it, and the holder’s renewal reads it', async () => {
    const sessionId = uniqueId('asked-early');
    // The client before it ran on a host that is gone: its lease lapses.
    await acquireLease(pool, sessionId, 'host-gone', 200, { accountRun: 'run-1', generation: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The account is deleted while generation 2 waits for that lease on a host Temporal cannot reach.
    const asked = await askHolderToStop(pool, sessionId, {
      accountRun: 'run-1',
      throughGeneration: 2,
      logout: true,
      forgetLogin: true,
    });
    assert.equal(asked, null, 'no live holder to ask yet');
    const taken = await acquireLease(pool, sessionId, 'host-cut', 10_000, { accountRun: 'run-1', generation: 2 });
    assert.ok(taken);
    const renewal = await renewLeases(pool, 'host-cut', new Map([[sessionId, taken.epoch]]), 10_000);
    assert.deepEqual([...renewal.stopAsked], [[sessionId, { logout: true, forgetLogin: true }]]);
    // Another account created under the same session id afterwards starts free of it.
    await releaseLease(pool, sessionId, 'host-cut', taken.epoch);
    const next = await acquireLease(pool, sessionId, 'host-b', 10_000, { accountRun: 'run-2', generation: 1 });
    assert.ok(next);
    const nextRenewal = await renewLeases(pool, 'host-b', new Map([[sessionId, next.epoch]]), 10_000);
    assert.deepEqual([...nextRenewal.stopAsked], []);
  });

  it('a newer generation’s start on another host asks the holder to let go: the holder stops its client at its next renewal, and the start takes the lease long before it could lapse', async () => {
    const sessionId = uniqueId('let-go');
    const holder = await leasedHost(pool, uniqueId('host-holder'), RENEWS_OFTEN_LAPSES_LATE);
    const newer = await leasedHost(pool, uniqueId('host-newer'), RENEWS_OFTEN_LAPSES_LATE);
    try {
      await holder.start(sessionId, 1);
      assert.ok(holder.leases.fence(sessionId), 'the holder runs generation 1');
      const startedAt = Date.now();
      await newer.start(sessionId, 2);
      const tookMs = Date.now() - startedAt;
      assert.ok(tookMs < 30_000, `the start took the lease in ${tookMs} ms, not after its lapse`);
      assert.equal(holder.leases.fence(sessionId), null, 'the holder let go');
      assert.equal(holder.sessions.get(sessionId), null, 'its client stopped');
      const [older, current] = await clientsOf(pool, sessionId);
      assert.ok(older && current, 'two clients in the audit');
      assert.ok(
        older.ended_at !== null && older.ended_at <= current.started_at,
        'the older ended before the newer began',
      );
      assert.equal(current.ended_at, null, 'the newer runs');
    } finally {
      await holder.close();
      await newer.close();
    }
  });

  it('an older generation’s start never makes a newer client let go: it waits for the lease and gives up', async () => {
    const sessionId = uniqueId('stale-start');
    const holder = await leasedHost(pool, uniqueId('host-holder'), RENEWS_OFTEN_LAPSES_LATE);
    // A start that waits 1.5 s for a lease before its 5 s grace, then gives up.
    const stale = await leasedHost(pool, uniqueId('host-stale'), { ttlMs: 1_500, renewEveryMs: 300, safetyMs: 500 });
    try {
      await holder.start(sessionId, 2);
      await assert.rejects(stale.start(sessionId, 1), SessionLeasedElsewhere);
      assert.ok(holder.sessions.get(sessionId), 'the newer client still runs on its holder');
      assert.deepEqual(
        (await clientsOf(pool, sessionId)).map((client) => client.ended_at),
        [null],
        'one client, never stopped',
      );
    } finally {
      await holder.close();
      await stale.close();
    }
  });

  it('a host paused past its lease stops its clients as soon as it runs again, before touching anything', async () => {
    const sessionId = uniqueId('paused');
    const lost: string[] = [];
    const host = new HostLeases(pool, 'host-paused', recordLosses(lost), testLog, {
      ttlMs: 900,
      renewEveryMs: 100,
      safetyMs: 200,
    });
    host.start();
    try {
      const epoch = await host.acquire(sessionId);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(lost, [], 'renewed while running');
      // The event loop blocked past the lease: what SIGSTOP does to the process.
      const until = Date.now() + 1_200;
      while (Date.now() < until) {
        /* paused */
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(lost, [`${sessionId}:not_renewed`]);
      assert.equal(host.fence(sessionId), null, 'no fence left to write under');
      const audit = await pool.one(
        sql.type(
          z.object({
            epoch: z.number(),
            started_at: z.number(),
            valid_until: z.number().nullable(),
            ended_at: z.number(),
          }),
        )`SELECT epoch, started_at, valid_until, ended_at FROM session_clients WHERE session_id = ${sessionId}`,
      );
      assert.equal(audit.epoch, epoch);
      assert.ok(
        audit.valid_until !== null && audit.valid_until < audit.ended_at,
        'its authority ended before it noticed',
      );
    } finally {
      host.stop();
    }
  });

  it('a client end the database could not take at once is written when it answers again, with the time the client stopped', async () => {
    const sessionId = uniqueId('late-end');
    const { relay, hostPool } = await poolThroughRelay(2);
    const host = new HostLeases(hostPool, 'host-cut-off', async () => {}, testLog, {
      ttlMs: 60_000,
      renewEveryMs: 100,
      safetyMs: 10_000,
    });
    host.start();
    const databaseNow = () => pool.oneFirst(sql.type(z.object({ now: z.number() }))`SELECT now() AS now`);
    try {
      const epoch = await host.acquire(sessionId);
      assert.ok(epoch !== null);
      await relay.cut();
      const stoppedAt = await databaseNow();
      await host.release(sessionId, epoch);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await relay.restore();
      const ended = z.object({ ended_at: z.number().nullable() });
      let endedAt: number | null = null;
      const giveUpAt = Date.now() + 30_000;
      while (endedAt === null && Date.now() < giveUpAt) {
        endedAt = await pool.oneFirst(
          sql.type(ended)`SELECT ended_at FROM session_clients WHERE session_id = ${sessionId}`,
        );
        if (endedAt === null) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(endedAt !== null, 'the end was written once the database answered');
      assert.ok(endedAt < stoppedAt + 1_500, `ended ${endedAt - stoppedAt} ms after the stop, not when written`);
    } finally {
      host.stop();
      await closeRelayedPool(hostPool, relay);
    }
  });
  it('a start that replaces one still waiting for the lease waits for it to give up: the replaced start runs no client, and the lease passes on under the next epoch', async () => {
    const sessionId = uniqueId('replaced');
    const leases = new HostLeases(pool, 'host-replacing', async () => {}, testLog, leaseTimings(60_000));
    const engine = await createEngine(
      readProcessEnv({
        ...process.env,
        WA_ENGINE: 'simulated',
        ENGINE_DATA_DIR: `${testStackEnv().dataDir}/${uniqueId('replacing')}`,
      }),
      pool,
      testLog,
    );
    const host = new SessionHost(
      engine,
      async () => 'delivered',
      testLog,
      () => undefined,
      leases,
    );
    const start = (generation: number) =>
      host.start({ sessionId, owner: 'test', generation, pairingPhoneNumber: null });
    // The lease row exists (another host held it and let go), and a transaction holds it: a start asking for the
    // lease waits in the database, as it does while the database is slow or restarting.
    await acquireLease(pool, sessionId, 'host-before', 10_000);
    await releaseLease(pool, sessionId, 'host-before', 1);
    let letGo: () => void = () => undefined;
    let markLocked: () => void = () => undefined;
    const locked = new Promise<void>((resolve) => {
      markLocked = resolve;
    });
    const holding = pool.transaction(async (transaction) => {
      await transaction.query(sql.unsafe`SELECT 1 FROM session_leases WHERE session_id = ${sessionId} FOR UPDATE`);
      markLocked();
      await new Promise<void>((resolve) => {
        letGo = resolve;
      });
    });
    await locked;
    try {
      const first = start(1).then(
        () => null,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = start(2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      letGo();
      await holding;
      assert.ok((await first) instanceof SessionStoppedWhileStarting, 'the replaced start gave up');
      await second;
      const clients = await pool.any(
        sql.type(z.object({ epoch: z.number(), started_at: z.number(), ended_at: z.number().nullable() }))`
          SELECT epoch, started_at, ended_at FROM session_clients WHERE session_id = ${sessionId} ORDER BY epoch
        `,
      );
      // The replaced start was granted epoch 2 once the row was free, found itself stopped and gave it up with no
      // client started; the replacing one asked only then.
      assert.deepEqual(
        clients.map((client) => ({ epoch: client.epoch, running: client.ended_at === null })),
        [{ epoch: 3, running: true }],
        'one client, under the epoch after the replaced start’s',
      );
      assert.deepEqual(leases.fence(sessionId), { host: 'host-replacing', epoch: 3 }, 'it holds that epoch');
    } finally {
      letGo();
      await holding.catch(() => undefined);
      await host.stopAll();
      await engine.close();
    }
  });
  it('a renewal stalled on one connection holds back no other, and its late answer stops no client started on the host since', async () => {
    const sessionId = uniqueId('late-renewal');
    const { relay, hostPool } = await poolThroughRelay(4);
    const lost: string[] = [];
    const host = new HostLeases(
      hostPool,
      'host-late-renewal',
      recordLosses(lost),
      testLog,
      // Clients stop 2 s after the last renewal that answered.
      { ttlMs: 3_000, renewEveryMs: 200, safetyMs: 1_000 },
    );
    try {
      const first = await host.acquire(sessionId);
      assert.ok(first !== null);
      // The connection the host has open stalls: its next renewal, for the first client's epoch, goes unanswered.
      relay.hold();
      const heldAt = Date.now();
      host.start();
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Meanwhile the session's client is replaced on this host, through a connection that answers.
      await host.release(sessionId, first);
      const second = await host.acquire(sessionId);
      assert.equal(second, first + 1);
      // Longer than the clients may run without a renewal: the renewals sent since, on connections that answer, count.
      await new Promise((resolve) => setTimeout(resolve, heldAt + 2_500 - Date.now()));
      assert.deepEqual(lost, [], 'the stalled renewal held back none after it');
      relay.letGo();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.deepEqual(lost, [], 'the late answer, which no longer finds the first epoch, stops nothing');
      assert.deepEqual(host.fence(sessionId), { host: 'host-late-renewal', epoch: second });
    } finally {
      host.stop();
      relay.letGo();
      await closeRelayedPool(hostPool, relay);
    }
  });
});

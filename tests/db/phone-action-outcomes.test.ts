import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { PhoneActionOutcomes } from '../../engine/phone/outcomes.js';
import { finishPhoneAction, simulatorActionSchema, submitPhoneAction } from '../../engine/phone/actions.js';
import { openPool, testLog, testStackEnv, uniqueId } from '../helpers/context.js';

describe('phone action outcomes', () => {
  it('wakes the waiter of an action when its outcome is written, and only that one', async () => {
    const pool = await openPool();
    // A fallback far beyond the test's bounds: only the NOTIFY can wake these waiters in time.
    const outcomes = new PhoneActionOutcomes(testStackEnv().databaseUrl, testLog, 600_000);
    await outcomes.start();
    try {
      const insert = async () =>
        pool.oneFirst(sql.type(z.object({ id: z.number().int() }))`
        INSERT INTO simulator_actions (session_id, action, state) VALUES (${uniqueId('s')}, 'drop', 'claimed') RETURNING id
      `);
      const [answered, untouched] = [await insert(), await insert()];
      const answeredWait = outcomes.nextChange(answered);
      const untouchedWait = outcomes.nextChange(untouched);
      let untouchedWoken = false;
      void untouchedWait.changed.then(() => {
        untouchedWoken = true;
      });

      await finishPhoneAction(pool, answered, { state: 'applied', result: {} });
      const woken = await Promise.race([
        answeredWait.changed.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000)),
      ]);
      assert.equal(woken, true, 'the outcome woke its waiter');
      assert.equal(untouchedWoken, false, 'another action’s waiter sleeps on');
      untouchedWait.cancel();
    } finally {
      await outcomes.stop();
      await pool.end();
    }
  });

  it('an action whose worker claimed it and died is given up as phone_action_lost; its late outcome changes nothing', async () => {
    const pool = await openPool();
    try {
      const sessionId = uniqueId('lost');
      // The "worker": claims the action as soon as it appears, then never answers.
      const claimer = setInterval(() => {
        void pool.query(
          sql.unsafe`UPDATE simulator_actions SET state = 'claimed' WHERE session_id = ${sessionId} AND state = 'pending'`,
        );
      }, 20);
      const startedAt = Date.now();
      const outcome = await submitPhoneAction(
        pool,
        sessionId,
        'drop',
        {},
        { timeoutMs: 300, claimedTimeoutMs: 700 },
      ).finally(() => clearInterval(claimer));
      assert.equal(outcome.state, 'rejected');
      assert.equal(outcome.result.error, 'phone_action_lost');
      assert.ok(Date.now() - startedAt < 10_000, 'the request ended');

      const row = await pool.one(
        sql.type(simulatorActionSchema)`SELECT * FROM simulator_actions WHERE session_id = ${sessionId}`,
      );
      await finishPhoneAction(pool, row.id, { state: 'applied', result: { late: true } });
      const after = await pool.one(
        sql.type(simulatorActionSchema)`SELECT * FROM simulator_actions WHERE id = ${row.id}`,
      );
      assert.equal(after.state, 'rejected');
      assert.equal(after.result?.error, 'phone_action_lost');
    } finally {
      await pool.end();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { PhoneActionOutcomes } from '../../simulator/phone-action-outcomes.js';
import { finishPhoneAction } from '../../simulator/phone-actions.js';
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
        INSERT INTO simulator_actions (session_id, action) VALUES (${uniqueId('s')}, 'drop') RETURNING id
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
});

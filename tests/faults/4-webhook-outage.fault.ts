import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { z } from 'zod';
import { faultStackFor } from './harness.js';
import { assertInvariants, connectAll, createAccounts, scan, waitForQrs, workspaceWithWebhook } from './workload.js';

describe(
  'fault 4: the webhook receiver answers 500, then times out, for 2 minutes, then recovers',
  { timeout: 900_000 },
  () => {
    const fault = faultStackFor('webhook-outage');

    it('every event is delivered once it recovers, every attempt is recorded, the ids de-duplicate', async () => {
      const { stack, receiver } = fault;
      const workspaceId = 'fault-webhook-outage';
      await workspaceWithWebhook(stack, workspaceId, receiver);
      receiver.mode = 'fail';
      const outageStartedAt = Date.now();
      const accounts = await createAccounts(stack, workspaceId, 20, 'wh');
      await waitForQrs(stack, workspaceId, accounts.size);
      await scan(stack, accounts);
      await connectAll(stack, workspaceId, accounts, 120_000);
      // The receiver's failures never hold up a connection: all are connected while it is down.
      assert.equal(receiver.accepted.size, 0);

      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - outageStartedAt))));
      receiver.mode = 'hang';
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 120_000 - (Date.now() - outageStartedAt))));
      receiver.mode = 'ok';
      assert.ok(receiver.refused > 0, 'deliveries were tried during the outage');

      await assertInvariants(stack, workspaceId, accounts, receiver, 300_000);
      const attempts = await stack.pool.one(sql.type(
        z.object({ failed: z.number(), http500: z.number(), timeouts: z.number(), events: z.number() }),
      )`
      SELECT count(*) FILTER (WHERE NOT delivered)::int8 AS failed,
             count(*) FILTER (WHERE status_code = 500)::int8 AS http500,
             count(*) FILTER (WHERE error LIKE 'timeout%')::int8 AS timeouts,
             count(DISTINCT event_id)::int8 AS events
      FROM webhook_deliveries WHERE workspace_id = ${workspaceId}
    `);
      assert.ok(
        attempts.http500 > 0 && attempts.timeouts > 0,
        `the failed attempts are recorded: ${JSON.stringify(attempts)}`,
      );
      // Retried events reached the receiver under the same webhook-id; a receiver keyed on it processes each once.
      const ids = [...receiver.accepted.keys()];
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(ids.length, attempts.events, 'one id per event');
    });
  },
);

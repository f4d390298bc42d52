import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAULT_TOPOLOGY, faultStackFor, until } from './harness.js';
import { accountsShowingQr, assertInvariants, connectAll, firstConnections, scan } from './workload.js';

describe(
  `fault 3: PostgreSQL stopped for 30 s in the middle of 50 connections (Temporal: ${FAULT_TOPOLOGY})`,
  { timeout: 600_000 },
  () => {
    const fault = faultStackFor('postgres-outage');

    it('activities retry, /ready reports the outage meanwhile, and nothing is lost', async () => {
      const { stack, receiver } = fault;
      const workspaceId = 'fault-postgres-outage';
      const accounts = await accountsShowingQr(fault, workspaceId, 50, 'pg');

      // Every phone scans; the database goes away while the connections are being written.
      await scan(stack, accounts);
      await firstConnections(stack, workspaceId, 3);
      await stack.stopPostgres();
      const stoppedAt = Date.now();
      const readiness: number[] = [];
      let temporalReportedDown = false;
      while (Date.now() - stoppedAt < 30_000) {
        const response = await fetch(`${stack.apiUrl}/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
        readiness.push(response?.status ?? 0);
        const body = response
          ? ((await response.json()) as { code?: string; checks?: Record<string, { ok: boolean }> })
          : null;
        if (response?.status === 503) assert.equal(body?.checks?.postgres?.ok, false, JSON.stringify(body));
        if (body?.checks?.temporal?.ok === false) temporalReportedDown = true;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      assert.ok(
        readiness.length > 5 && readiness.every((status) => status === 503),
        `/ready answered 503 all along: ${readiness.join(',')}`,
      );
      if (FAULT_TOPOLOGY === 'server') {
        assert.ok(temporalReportedDown, '/ready named Temporal too: its persistence is the PostgreSQL that is down');
      }
      await stack.startPostgres();

      await until(async () => (await fetch(`${stack.apiUrl}/ready`)).status === 200, 60_000, '/ready again');
      await connectAll(stack, workspaceId, accounts, 240_000);
      await assertInvariants(stack, workspaceId, accounts, receiver);
      assert.deepEqual(stack.alive(), { worker: true, api: true }, 'the worker and the API rode out the outage');
    });
  },
);

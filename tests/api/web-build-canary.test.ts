import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createWebBuildCanaryActivities } from '../../activities/web-build-canaries.js';
import { createWaConnectClient } from '../../clients/typescript/index.js';
import { SIMULATED_WEB_VERSION } from '../../engine/simulated/simulated-session.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

/** A build WhatsApp broke: the simulated page never loads on it. */
const BROKEN_BUILD = '2.3000.9-broken';
const GOOD_BUILD = '2.3000.5-good';

interface CanaryView {
  id: number;
  state: string;
  decisionReason: string | null;
  figures: { candidate: { starts: number; failures: number }; current: { starts: number; failures: number } };
}

describe('canary WhatsApp Web builds', { timeout: 240_000 }, () => {
  // Sessions report their build every 300 ms: the account shows which build it runs.
  const stack = useSimulatedWorkerStack({
    ...FAST_SIMULATOR_ENV,
    SIM_BROKEN_WEB_VERSIONS: BROKEN_BUILD,
    ENGINE_CHECK_EVERY_MS: '300',
    ENGINE_CHECK_TIMEOUT_MS: '200',
  });
  let api: TestApi;
  let apiPool: DatabasePool;
  let baseUrl: string;

  before(async () => {
    apiPool = await apiRolePool(stack.accounts.taskQueue);
    api = await buildTestApi(apiPool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
    baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await api?.app.close();
    await apiPool?.end();
  });

  const connectedAccount = async (workspaceId: string) => {
    const { sessionId } = await stack.accounts.create({ workspaceId });
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    return sessionId;
  };
  const canary = (id: number) =>
    api.as(api.adminKey, { url: `/v1/admin/web-build-canaries/${id}` }).then((answer) => answer.json<CanaryView>());
  const decided = (id: number) =>
    eventually(
      async () => {
        const view = await canary(id);
        return view.state === 'running' ? undefined : view;
      },
      60_000,
      `canary ${id} decided`,
    );

  it('a broken candidate is rolled back by the rule; the accounts it failed come back on the current build without a scan, and a judge retried after the decision names them again; accounts outside are never touched', async () => {
    const inside = uniqueId('ws-canary-in');
    const outside = uniqueId('ws-canary-out');
    const tried = [await connectedAccount(inside), await connectedAccount(inside), await connectedAccount(inside)];
    const untouched = [await connectedAccount(outside), await connectedAccount(outside)];
    const historyBefore = await Promise.all(untouched.map((id) => stack.accounts.eventTypes(id)));

    const client = createWaConnectClient(baseUrl, api.adminKey);
    const started = await client.POST('/v1/admin/web-build-canaries', {
      body: {
        candidate: BROKEN_BUILD,
        sharePercent: 0,
        workspaces: [inside],
        minStarts: 3,
        readyWithinSeconds: 5,
        judgeEverySeconds: 1,
      },
    });
    assert.equal(started.response.status, 201);
    const canaryId = started.data?.id ?? 0;
    // The workspace's accounts restart into the canary: the broken build never offers a login nor connects.
    const workspaceKey = await api.keyFor(inside);
    for (const sessionId of tried) {
      const restarted = await api.as(workspaceKey, {
        method: 'POST',
        url: `/v1/workspaces/${inside}/accounts/${sessionId}/restart`,
      });
      assert.ok(restarted.statusCode < 300, restarted.body);
    }
    // New accounts outside start on the current build over the same period: the comparison's other arm.
    const fresh = await stack.accounts.create({ workspaceId: outside });
    await stack.accounts.showingQr(fresh.sessionId);

    const verdict = await decided(canaryId);
    assert.equal(verdict.state, 'rolled_back');
    assert.match(
      verdict.decisionReason ?? '',
      new RegExp(`^3 of 3 starts on ${BROKEN_BUILD.replaceAll('.', '\\.')} never reached a working page within 5 s`),
    );
    assert.deepEqual(verdict.figures.candidate, { ...verdict.figures.candidate, starts: 3, failures: 3 });
    assert.equal(verdict.figures.current.failures, 0);

    // Back on the current build, from their saved logins: connected, no QR offered since the canary began.
    for (const sessionId of tried) {
      const row = await stack.accounts.rowWhere(
        sessionId,
        (account) => account.status === 'connected' && account.web_version === SIMULATED_WEB_VERSION,
        'connected again on the current build',
        60_000,
      );
      assert.equal(row.web_version, SIMULATED_WEB_VERSION);
      const types = await stack.accounts.eventTypes(sessionId);
      assert.equal(types.filter((type) => type === 'qr').length, 1, `${sessionId}: the first scan's QR only`);
    }
    // Outside the canary: not one event since it began.
    assert.deepEqual(await Promise.all(untouched.map((id) => stack.accounts.eventTypes(id))), historyBefore);

    // A judge's look retried after its decision committed names the same accounts to restart; the audit has one decision.
    const retried = await createWebBuildCanaryActivities(stack.pool).judgeWebBuildCanary(canaryId);
    assert.deepEqual(
      { state: retried.state, restartSessionKeys: [...retried.restartSessionKeys].sort() },
      { state: 'rolled_back', restartSessionKeys: tried.map((sessionId) => `${inside}.${sessionId}`).sort() },
    );
    const audit = await api.as(api.adminKey, { url: '/v1/admin/audit?limit=200' });
    const decisions = audit
      .json<{ items: { action: string; target: string | null; actor: { kind: string } }[] }>()
      .items.filter((entry) => entry.action === 'roll back web build' && entry.target === BROKEN_BUILD);
    assert.deepEqual(
      decisions.map((entry) => entry.actor.kind),
      ['service'],
    );
    const metrics = await api.as(api.adminKey, { url: '/metrics' });
    assert.match(metrics.body, /^wa_web_build_canaries\{state="rolled_back"\} [1-9]/m);
  });

  it('a good candidate is promoted by the rule, and new starts load it from then on', async () => {
    const workspaceId = uniqueId('ws-canary-good');
    const started = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/web-build-canaries',
      payload: { candidate: GOOD_BUILD, sharePercent: 100, minStarts: 3, readyWithinSeconds: 5, judgeEverySeconds: 1 },
    });
    assert.equal(started.statusCode, 201, started.body);
    const canaryId = started.json<CanaryView>().id;
    const again = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/web-build-canaries',
      payload: { candidate: GOOD_BUILD, sharePercent: 10 },
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json<{ code: string }>().code, 'canary_running');

    for (let i = 0; i < 3; i += 1) {
      const { sessionId } = await stack.accounts.create({ workspaceId });
      await stack.accounts.showingQr(sessionId);
    }
    const verdict = await decided(canaryId);
    assert.equal(verdict.state, 'promoted');
    assert.match(verdict.decisionReason ?? '', /^3 of 3 starts on 2\.3000\.5-good reached a working page within 5 s/);
    const list = await api.as(api.adminKey, { url: '/v1/admin/web-build-canaries' });
    assert.equal(list.json<{ currentBuild: string }>().currentBuild, GOOD_BUILD);

    const later = await connectedAccount(workspaceId);
    await stack.accounts.rowWhere(later, (row) => row.web_version === GOOD_BUILD, 'the promoted build running');
  });

  it('a continued run taking over its client records no start: the canary counts only starts that run a page', async () => {
    const workspaceId = uniqueId('ws-canary-takeover');
    const started = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/web-build-canaries',
      // Never decided while the test runs: it only records starts.
      payload: { candidate: GOOD_BUILD, sharePercent: 0, workspaces: [workspaceId], minStarts: 10_000 },
    });
    assert.equal(started.statusCode, 201, started.body);
    const canaryId = started.json<CanaryView>().id;
    try {
      const { sessionId, handle } = await stack.accounts.create({ workspaceId, continueAsNewAfterEvents: 2 });
      const firstRunId = (await handle.describe()).runId;
      await stack.accounts.showingQr(sessionId);
      await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
      await stack.accounts.rowWithStatus(sessionId, 'connected');
      // The next run has taken the client over once it watches it.
      await eventually(
        async () => {
          const latest = await handle.describe();
          const watching = latest.raw.pendingActivities?.some(
            (activity) => activity.activityType?.name === 'watchEngineSession',
          );
          return latest.runId !== firstRunId && watching ? true : undefined;
        },
        30_000,
        'a continued run watching the client it took over',
      );
      const row = await stack.accounts.row(sessionId);
      assert.ok(row);
      const starts = await stack.pool.oneFirst(sql.type(z.object({ starts: z.number() }))`
        SELECT count(*)::int AS starts FROM web_build_canary_starts WHERE canary_id = ${canaryId} AND account_id = ${row.id}
      `);
      assert.equal(starts, 1, 'the first start only');
    } finally {
      await api.as(api.adminKey, { method: 'POST', url: `/v1/admin/web-build-canaries/${canaryId}/stop` });
    }
  });

  it('refuses a share outside 0–100, an empty canary and a malformed build, and is for admins only', async () => {
    for (const [payload, code] of [
      [{ candidate: GOOD_BUILD, sharePercent: 101 }, 'validation_failed'],
      [{ candidate: GOOD_BUILD, sharePercent: -1 }, 'validation_failed'],
      [{ candidate: GOOD_BUILD, sharePercent: 0 }, 'canary_empty'],
      [{ candidate: 'latest!', sharePercent: 10 }, 'validation_failed'],
    ] as const) {
      const answer = await api.as(api.adminKey, { method: 'POST', url: '/v1/admin/web-build-canaries', payload });
      assert.equal(answer.statusCode, 400, JSON.stringify(payload));
      assert.equal(answer.json<{ code: string }>().code, code);
    }
    const workspaceKey = await api.keyFor(uniqueId('ws-canary-key'));
    const refused = await api.as(workspaceKey, {
      method: 'POST',
      url: '/v1/admin/web-build-canaries',
      payload: { candidate: GOOD_BUILD, sharePercent: 10 },
    });
    assert.equal(refused.statusCode, 404);
  });

  it('a canary id past the largest safe integer is a validation problem, not a failed request', async () => {
    for (const request of [
      { method: 'GET', url: '/v1/admin/web-build-canaries/964946801409469201224210143768477696' },
      { method: 'POST', url: '/v1/admin/web-build-canaries/9007199254740992/stop', payload: {} },
    ] as const) {
      const { url } = request;
      const answer = await api.as(api.adminKey, request);
      assert.equal(answer.statusCode, 400, url);
      assert.equal(answer.json<{ code: string }>().code, 'validation_failed', url);
    }
    const unknown = await api.as(api.adminKey, {
      method: 'GET',
      url: `/v1/admin/web-build-canaries/${Number.MAX_SAFE_INTEGER}`,
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ code: string }>().code, 'canary_not_found');
  });
});

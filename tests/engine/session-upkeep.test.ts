import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listAccountEvents } from '../../db/account-events.js';
import { sessionHost } from '../../db/session-leases.js';
import { FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

const SERVICE_PIN = '2.3000.1017000001';
const ACCOUNT_PIN = '2.3000.1017000002';
const MB = 1024 * 1024;

/** Checks every 300 ms; a browser starts at 220 MB and is over the limit at 500 MB. */
const UPKEEP_ENV = {
  ...FAST_SIMULATOR_ENV,
  ENGINE_CHECK_EVERY_MS: '300',
  ENGINE_CHECK_TIMEOUT_MS: '200',
  ENGINE_CHECK_MISSES: '2',
  ENGINE_MEMORY_LIMIT_MB: '500',
  SIM_SESSION_MEMORY_MB: '220',
};

describe('session upkeep: every connected session checked by its host, restarted when it stops answering or outgrows its memory', () => {
  const stack = useSimulatedWorkerStack({
    ...UPKEEP_ENV,
    ENGINE_RECYCLE_QUIET_MS: '1000',
    WA_WEB_VERSION: SERVICE_PIN,
  });
  let api: TestApi;

  before(async () => {
    api = await buildTestApi(stack.pool, stack.client, {
      taskQueue: uniqueId('tq-idle'),
      simulator: false,
      serviceWebVersion: SERVICE_PIN,
    });
  });
  after(async () => {
    await api?.app.close();
  });

  const connectedAccount = async () => {
    const created = await stack.accounts.create();
    await stack.accounts.showingQr(created.sessionId);
    await stack.accounts.phone(created.sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(created.sessionId, 'connected');
    return created;
  };

  const restartReasons = async (sessionId: string) =>
    (await listAccountEvents(stack.pool, (await stack.accounts.row(sessionId))?.workspace_id ?? '', sessionId, 1_000))
      .filter((event) => event.type === 'disconnected')
      .map((event) => event.data.reason);

  const restartsCounted = async (why: 'unresponsive' | 'memory') => {
    const scraped = await api.as(api.adminKey, { url: '/metrics' });
    const line = new RegExp(`^wa_session_restarts_total\\{why="${why}"\\} (\\d+)$`, 'm').exec(scraped.body);
    assert.ok(line, `wa_session_restarts_total{why="${why}"} is exported`);
    return Number(line[1]);
  };

  it('a connected session is seen alive: lastSeenAt moves on, with the build it runs and what its browser holds', async () => {
    const { sessionId, workspaceId } = await connectedAccount();
    const atConnect = await stack.accounts.row(sessionId);
    assert.ok(atConnect?.last_seen_at, 'turning connected counts as seen');
    const later = await stack.accounts.rowWhere(
      sessionId,
      (row) => row.last_seen_at !== null && row.last_seen_at > (atConnect.last_seen_at ?? 0) + 500,
      'seen again by a later check',
    );
    assert.equal(later.web_version, SERVICE_PIN);
    assert.equal(later.engine_memory_bytes, 220 * MB);
    assert.equal(later.updated_at, atConnect.updated_at, 'a sighting is not a change of the account');

    const key = await api.keyFor(workspaceId);
    const view = await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
    assert.equal(view.json().webVersion, SERVICE_PIN);
    assert.ok(Date.parse(view.json().lastSeenAt) >= (later.last_seen_at ?? 0));
  });

  it('a connected session that stops answering is restarted from its saved login, without a scan, and counted', async () => {
    const { sessionId } = await connectedAccount();
    const countedBefore = await restartsCounted('unresponsive');
    await stack.accounts.phone(sessionId, 'hang');
    await stack.accounts.reconnected(sessionId, 30_000, 'restarted after it stopped answering');
    assert.deepEqual(await restartReasons(sessionId), ['transient:unresponsive']);
    const events = await stack.accounts.eventTypes(sessionId);
    assert.equal(events.filter((type) => type === 'qr').length, 1, 'the only QR is the first one: no scan again');
    await eventually(
      async () => ((await restartsCounted('unresponsive')) > countedBefore ? true : undefined),
      20_000,
      'the restart counted in wa_session_restarts_total{why="unresponsive"}',
    );
  });

  it('a session whose browser outgrows the memory limit is restarted from its saved login, and counted', async () => {
    const { sessionId } = await connectedAccount();
    const countedBefore = await restartsCounted('memory');
    await stack.accounts.phone(sessionId, 'grow_memory', { megabytes: 400 });
    await stack.accounts.reconnected(sessionId, 30_000, 'recycled for its memory');
    assert.deepEqual(await restartReasons(sessionId), ['transient:memory_recycle']);
    assert.equal((await stack.accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length, 1);
    const fresh = await stack.accounts.rowWhere(
      sessionId,
      (row) => row.status === 'connected' && row.engine_memory_bytes === 220 * MB,
      'the restarted browser back at its start size',
    );
    assert.equal(fresh.web_version, SERVICE_PIN);
    await eventually(
      async () => ((await restartsCounted('memory')) > countedBefore ? true : undefined),
      20_000,
      'the recycle counted in wa_session_restarts_total{why="memory"}',
    );
  });

  it("an account's own WhatsApp Web pin wins over the service's from its next start; view, diagnostics and metrics say so", async () => {
    const { sessionId, workspaceId } = await connectedAccount();
    await stack.accounts.rowWhere(sessionId, (row) => row.web_version === SERVICE_PIN, 'the service build running');
    const key = await api.keyFor(workspaceId);
    const path = `/v1/workspaces/${workspaceId}/accounts/${sessionId}`;

    const refused = await api.as(key, { method: 'PUT', url: `${path}/web-version`, payload: { version: '../latest' } });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().code, 'validation_failed');

    const pinned = await api.as(key, { method: 'PUT', url: `${path}/web-version`, payload: { version: ACCOUNT_PIN } });
    assert.equal(pinned.statusCode, 200, pinned.body);
    assert.equal(pinned.json().webVersionPin, ACCOUNT_PIN);
    assert.equal(pinned.json().webVersion, SERVICE_PIN, 'the running session keeps its build until its next start');

    const restarted = await api.as(key, { method: 'POST', url: `${path}/restart` });
    assert.equal(restarted.statusCode, 202, restarted.body);
    const moved = await stack.accounts.rowWhere(
      sessionId,
      (row) => row.status === 'connected' && row.web_version === ACCOUNT_PIN,
      'running the account’s build after the restart',
    );
    assert.equal(moved.web_version_pin, ACCOUNT_PIN);

    const diagnostics = await api.as(key, { url: `${path}/diagnostics` });
    assert.deepEqual(
      {
        webVersion: diagnostics.json().engine.webVersion,
        webVersionPin: diagnostics.json().engine.webVersionPin,
        serviceWebVersion: diagnostics.json().engine.serviceWebVersion,
        pinnedBy: diagnostics.json().engine.pinnedBy,
      },
      { webVersion: ACCOUNT_PIN, webVersionPin: ACCOUNT_PIN, serviceWebVersion: SERVICE_PIN, pinnedBy: 'account' },
    );
    assert.ok(diagnostics.json().engine.memoryBytes > 0);

    await eventually(
      async () => {
        const scraped = (await api.as(api.adminKey, { url: '/metrics' })).body;
        return scraped.includes(`wa_sessions_by_web_version{version="${ACCOUNT_PIN}"}`) &&
          scraped.includes(`wa_web_version_pinned{version="${SERVICE_PIN}"} 1`)
          ? true
          : undefined;
      },
      20_000,
      'the account’s build in wa_sessions_by_web_version',
    );
  });

  it('a client still connected for an account deleted after an operator terminated its workflow is stopped by its host', async () => {
    const { workspaceId, sessionId, handle } = await connectedAccount();
    const key = await stack.accounts.key(sessionId);
    assert.ok(await sessionHost(stack.pool, key), 'its client runs under a lease');
    await handle.terminate('an operator ended it in the Web UI');
    // The workflow is over: the API ends the account itself, and no workflow is left to stop the client.
    const deleted = await api.as(api.adminKey, {
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}`,
    });
    assert.equal(deleted.statusCode, 202, deleted.body);
    await eventually(
      async () => ((await sessionHost(stack.pool, key)) === null ? true : undefined),
      20_000,
      'the client stopped and its lease given up',
    );
  });
});

describe('session upkeep: memory recycling waits for a quiet session', () => {
  const stack = useSimulatedWorkerStack({
    ...UPKEEP_ENV,
    // Longer than the test: every session here had an engine event more recently than this.
    ENGINE_RECYCLE_QUIET_MS: '3600000',
  });

  it('a session over the limit whose engine spoke within the quiet window keeps running, round after round', async () => {
    const { sessionId } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    await stack.accounts.phone(sessionId, 'grow_memory', { megabytes: 400 });
    const overLimit = await stack.accounts.rowWhere(
      sessionId,
      (row) => row.engine_memory_bytes === 620 * MB && row.last_seen_at !== null,
      'a check saw the browser over the limit',
    );
    // Five more rounds, each of which would have recycled it if it were quiet.
    const later = await stack.accounts.rowWhere(
      sessionId,
      (row) => row.last_seen_at !== null && row.last_seen_at > (overLimit.last_seen_at ?? 0) + 1_500,
      'seen alive by later checks',
    );
    assert.equal(later.status, 'connected');
    assert.equal(later.engine_memory_bytes, 620 * MB, 'the same browser, not a restarted one');
    const events = await stack.accounts.eventTypes(sessionId);
    assert.equal(events.filter((type) => type === 'disconnected').length, 0, 'never restarted');
  });
});

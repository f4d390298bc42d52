import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';
import { apiRolePool, useSimulatedWorkerStack } from '../helpers/worker-process.js';

interface Bundle {
  phoneNumbersMasked: boolean;
  versions: Record<string, unknown> & { postgres: { version: string; schemaVersion: number } };
  temporal: { reachable: boolean; runningWorkflows: number | null };
  hosts: unknown[];
  stuckAccounts: { account: { sessionId: string; qr: unknown }; workflow: { status: string } | null }[];
  recentEvents: { all: { sessionId: string; type: string }[]; failures: unknown[] };
}

describe('the escalation bundle: one download for whoever the fleet is escalated to', { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack();
  let api: TestApi;
  let apiPool: DatabasePool;
  before(async () => {
    apiPool = await apiRolePool();
    api = await buildTestApi(apiPool, stack.client, { taskQueue: stack.accounts.taskQueue, simulator: true });
  });
  after(async () => {
    await api?.app.close();
    await apiPool?.end();
  });

  it('versions, Temporal, stuck accounts with their workflows, recent events; no login code, phone numbers masked unless asked', async () => {
    const phone = randomPhone();
    const workspaceId = uniqueId('ws-bundle');
    const connected = await stack.accounts.create({ workspaceId });
    await stack.accounts.showingQr(connected.sessionId);
    await stack.accounts.phone(connected.sessionId, 'scan', { phone, pushName: 'Toko Maju' });
    await stack.accounts.rowWithStatus(connected.sessionId, 'connected');
    const scanning = await stack.accounts.create({ workspaceId });
    const shown = await stack.accounts.showingQr(scanning.sessionId);
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const answer = await api.as(api.adminKey, {
      url: `/v1/admin/escalation-bundle?minutes=10&stuckOlderThanSeconds=1&workspaceId=${workspaceId}`,
    });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.match(String(answer.headers['content-disposition']), /^attachment; filename="wa-connect-escalation-/);
    const text = answer.body;
    const bundle = answer.json<Bundle>();
    assert.equal(bundle.phoneNumbersMasked, true);
    assert.equal(bundle.versions.node, process.version);
    assert.match(bundle.versions.postgres.version, /PostgreSQL/);
    assert.ok(bundle.versions.postgres.schemaVersion >= 29);
    assert.equal(typeof bundle.versions.temporalServer, 'string');
    assert.equal(bundle.temporal.reachable, true);
    assert.ok(bundle.hosts.length >= 1, 'the worker host is listed');
    const stuck = bundle.stuckAccounts.find((item) => item.account.sessionId === scanning.sessionId);
    assert.ok(stuck, 'the account waiting for its scan is stuck past 1 s');
    assert.equal(stuck.account.qr, null);
    assert.equal(stuck.workflow?.status, 'RUNNING', 'with its workflow described');
    assert.ok(bundle.recentEvents.all.some((event) => event.sessionId === connected.sessionId));

    assert.ok(shown.last_qr && !text.includes(shown.last_qr), 'no QR anywhere in the bundle');
    assert.ok(!text.includes(phone), 'the phone number is masked');
    assert.ok(!text.includes('Toko Maju'), 'the push name is masked');
    assert.ok(!bundle.recentEvents.all.some((event) => event.type === 'qr' || event.type === 'pairing_code'));

    const unmasked = await api.as(api.adminKey, {
      url: `/v1/admin/escalation-bundle?minutes=10&unmaskPhoneNumbers=true&workspaceId=${workspaceId}`,
    });
    assert.ok(unmasked.body.includes(phone), 'asked for, the numbers are there');
  });

  it('a workspace key finds no such route', async () => {
    const answer = await api.as(await api.keyFor(uniqueId('ws-bundle')), { url: '/v1/admin/escalation-bundle' });
    assert.equal(answer.statusCode, 404);
  });
});

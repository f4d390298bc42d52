import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { findAccountBySession, insertAccount, listAccountEvents } from '../../db/accounts.js';
import type { ChildHandle } from '../../infra/child-process.js';
import { accountConnection, accountStateQuery, deleteAccountSignal } from '../../workflows/account-connection.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { accountStatusKey, workspaceIdKey } from '../../workflows/search-attributes.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

describe('account workflow on the real Temporal server, with a real worker process and PostgreSQL', () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: ChildHandle;
  let taskQueue: string;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    ({ worker, taskQueue } = await startTestWorker());
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
  });

  async function startAccount(qrExpiryMs?: number) {
    const workspaceId = uniqueId('ws');
    const sessionId = uniqueId('sess');
    await insertAccount(pool, { workspaceId, sessionId });
    const handle = await client.workflow.start(accountConnection, {
      taskQueue,
      workflowId: accountWorkflowId(sessionId),
      args: [{ sessionId, workspaceId, ...(qrExpiryMs ? { qrExpiryMs } : {}) }],
      typedSearchAttributes: [{ key: workspaceIdKey, value: workspaceId }],
    });
    return { workspaceId, sessionId, handle };
  }

  it('records the account row and its event through an activity, and pins the session to a host queue', async () => {
    const { sessionId, workspaceId, handle } = await startAccount();
    const events = await eventually(async () => {
      const found = await listAccountEvents(pool, sessionId);
      return found.length > 0 ? found : undefined;
    }, 30_000, 'the session_created event');
    assert.equal(events[0]?.type, 'session_created');
    assert.equal(events[0]?.status, 'qr_scanning');
    assert.equal(events[0]?.workspace_id, workspaceId);

    const state = await eventually(async () => {
      const current = await handle.query(accountStateQuery);
      return current.hostTaskQueue ? current : undefined;
    }, 30_000, 'a host queue');
    assert.match(state.hostTaskQueue ?? '', /^wa-host-/);

    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(accountStatusKey), 'qr_scanning');
    assert.equal(description.typedSearchAttributes.get(workspaceIdKey), workspaceId);

    await handle.signal(deleteAccountSignal, {});
    const final = await handle.result();
    assert.equal(final.status, 'failed');
    const row = await findAccountBySession(pool, sessionId);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.failure_reason, 'deleted');
    assert.deepEqual((await listAccountEvents(pool, sessionId)).map((event) => event.type), ['session_created', 'session_deleted']);
  });

  it('fails an unscanned account with qr_expired once its QR expiry passes', async () => {
    const { sessionId, handle } = await startAccount(1_000);
    const final = await handle.result();
    assert.equal(final.status, 'failed');
    assert.equal(final.failureReason, 'qr_expired');
    const row = await findAccountBySession(pool, sessionId);
    assert.equal(row?.failure_reason, 'qr_expired');
  });

  it('stops the worker process cleanly on SIGTERM', async () => {
    const { worker: second } = await startTestWorker();
    await second.stop('SIGTERM', 30_000);
    assert.equal(await second.exited, 0);
  });
});

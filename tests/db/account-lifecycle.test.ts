import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { activateAccount, endAccount } from '../../db/account-lifecycle.js';
import { insertAccount } from '../../db/accounts.js';
import { EngineAuthStore } from '../../db/engine-auth.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { sessionKey } from '../../domain/session-key.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { openPool, uniqueId } from '../helpers/context.js';

let pool: DatabasePool;
before(async () => {
  pool = await openPool();
});
after(async () => {
  await pool?.end();
});

describe('the saved login goes with the change that makes it worthless, in the same transaction', () => {
  let logins: EngineAuthStore;
  before(() => {
    logins = new EngineAuthStore(pool, keyringFromEnv(process.env));
  });

  const accountWithLogin = async (workspaceId: string, sessionId: string): Promise<string> => {
    await ensureWorkspace(pool, workspaceId);
    await insertAccount(pool, { workspaceId, sessionId });
    const key = sessionKey(workspaceId, sessionId);
    await logins.save(key, 'simulated', Buffer.from(`login of ${key}`));
    assert.ok(await logins.load(key), 'saved');
    return key;
  };

  it('an ending that forgets the login removes it; one that keeps it (a conflict elsewhere) leaves it', async () => {
    const workspaceId = uniqueId('ws-end');
    const forgotten = await accountWithLogin(workspaceId, uniqueId('deleted'));
    const kept = await accountWithLogin(workspaceId, uniqueId('kept'));
    const ending = { status: 'failed', reason: 'deleted', eventType: 'session_deleted', softDelete: true } as const;
    await endAccount(pool, { ...ending, sessionId: forgotten, forgetLogin: true, dedupeKey: uniqueId('end') });
    await endAccount(pool, { ...ending, sessionId: kept, forgetLogin: false, dedupeKey: uniqueId('end') });
    assert.equal(await logins.load(forgotten), null);
    assert.equal((await logins.load(kept))?.toString(), `login of ${kept}`);
  });

  it('an activation that takes the phone from an older account removes that account’s login, not its own', async () => {
    const workspaceId = uniqueId('ws-moved');
    const older = await accountWithLogin(workspaceId, uniqueId('older'));
    const newer = await accountWithLogin(workspaceId, uniqueId('newer'));
    const phone = { phoneNumber: '628118000111', pushName: null };
    await activateAccount(pool, { sessionId: older, ...phone, dedupeKey: uniqueId('activate') });
    const moved = await activateAccount(pool, { sessionId: newer, ...phone, dedupeKey: uniqueId('activate') });
    assert.equal(moved.releasedSessionIds.length, 1, 'the older account gave up the phone');
    assert.equal(await logins.load(older), null, 'the older login is gone');
    assert.ok(await logins.load(newer), 'the newer login stays');
  });
});

describe('an activation retried after its answer was lost', () => {
  it('changes nothing and names again the older accounts it took the phone from', async () => {
    const workspaceId = uniqueId('ws-retried');
    await ensureWorkspace(pool, workspaceId);
    const olderId = uniqueId('older');
    const newerId = uniqueId('newer');
    for (const sessionId of [olderId, newerId]) await insertAccount(pool, { workspaceId, sessionId });
    const phone = { phoneNumber: '628118000222', pushName: null };
    await activateAccount(pool, { sessionId: sessionKey(workspaceId, olderId), ...phone, dedupeKey: uniqueId('a') });
    const activation = { sessionId: sessionKey(workspaceId, newerId), ...phone, dedupeKey: uniqueId('activate') };
    const first = await activateAccount(pool, activation);
    const retried = await activateAccount(pool, activation);
    assert.deepEqual(first.releasedSessionIds, [olderId]);
    assert.equal(retried.applied, false, 'applied once');
    assert.deepEqual(retried.releasedSessionIds, [olderId], 'the older account is told again');
    assert.deepEqual(retried.eventIds, first.eventIds, 'the same events, so the same webhooks');
  });
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { endAccount } from '../../db/account-lifecycle.js';
import { endedSessionKeys, insertAccount } from '../../db/accounts.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { ENDINGS, endingReason } from '../../domain/account-endings.js';
import { sessionKey } from '../../domain/session-key.js';
import { removeEndedProfiles, sessionKeyOfProfile } from '../../engine/real/ended-profiles.js';
import { profileName, savedLoginMarkerName } from '../../engine/real/postgres-auth.js';
import { openPool, testLog, testStackEnv, uniqueId } from '../helpers/context.js';

describe('the profile folder names a session key (a pure function)', () => {
  it('reads back the key of any profile name, dashes in the workspace included, and nothing else', () => {
    for (const key of ['acme.main', 'a-b-c.x-y', 'ws-12-3.s_1', '7.8'])
      assert.equal(sessionKeyOfProfile(profileName(key)), key);
    for (const name of [
      'session-5-acme',
      'session-x-acme-main',
      'Default',
      'session-4-acme.main',
      'session-9-acme-main',
    ])
      assert.equal(sessionKeyOfProfile(name), null, name);
  });
});

describe('a host removes the profiles of accounts that ended', () => {
  let pool: DatabasePool;
  let profilesDir: string;
  before(async () => {
    pool = await openPool();
    await mkdir(testStackEnv().dataDir, { recursive: true });
    profilesDir = await mkdtemp(join(testStackEnv().dataDir, 'profiles-'));
  });
  after(async () => {
    await pool?.end();
    if (profilesDir) await rm(profilesDir, { recursive: true, force: true });
  });

  it('removes the profile and marker of a deleted, a logged-out and an unknown account; keeps a live one, one running here, and what is not a profile', async () => {
    const workspaceId = uniqueId('ws-profiles');
    await ensureWorkspace(pool, workspaceId);
    const account = async (name: string) => {
      const sessionId = uniqueId(name);
      await insertAccount(pool, { workspaceId, sessionId });
      return sessionKey(workspaceId, sessionId);
    };
    const live = await account('live');
    const deleted = await account('deleted');
    const loggedOut = await account('logged-out');
    const deletedButRunningHere = await account('running');
    const unknown = sessionKey(workspaceId, uniqueId('never'));
    const end = (key: string, kind: 'deleted' | 'logged_out') => {
      const { status, eventType, softDelete, forgetLogin } = ENDINGS[kind];
      return endAccount(pool, {
        sessionId: key,
        status,
        reason: endingReason(kind),
        eventType,
        softDelete,
        forgetLogin,
        dedupeKey: uniqueId('end'),
      });
    };
    await end(deleted, 'deleted');
    await end(loggedOut, 'logged_out');
    await end(deletedButRunningHere, 'deleted');

    const everyKey = [live, deleted, loggedOut, deletedButRunningHere, unknown];
    for (const key of everyKey) {
      await mkdir(join(profilesDir, profileName(key), 'Default'), { recursive: true });
      await writeFile(join(profilesDir, profileName(key), 'Default', 'chats'), 'cached chats');
      await writeFile(join(profilesDir, savedLoginMarkerName(key)), 'sha256');
    }
    await mkdir(join(profilesDir, 'not-a-profile'));

    const removed = await removeEndedProfiles(
      profilesDir,
      (key) => key === deletedButRunningHere,
      (keys) => endedSessionKeys(pool, keys),
      testLog,
    );
    assert.equal(removed, 3);
    const kept = [live, deletedButRunningHere];
    assert.deepEqual(
      (await readdir(profilesDir)).sort(),
      [...kept.flatMap((key) => [profileName(key), savedLoginMarkerName(key)]), 'not-a-profile'].sort(),
    );
  });
});

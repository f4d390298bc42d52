import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { profileFingerprint } from '../../engine/real/postgres-auth.js';

const INDEXED_DB = join('Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb');

describe("the fingerprint of a profile's page storage, which spares an unchanged login its save", () => {
  let profile = '';
  before(async () => {
    profile = await mkdtemp(join(tmpdir(), 'wa-fingerprint-'));
    await mkdir(join(profile, INDEXED_DB), { recursive: true });
    await mkdir(join(profile, 'Default', 'Service Worker', 'CacheStorage'), { recursive: true });
    await writeFile(join(profile, INDEXED_DB, '000003.log'), 'login');
    await writeFile(join(profile, 'Default', 'Preferences'), '{}');
  });
  after(async () => rm(profile, { recursive: true, force: true }));

  it('is the same for an untouched profile and after what Chromium rewrites in an idle one', async () => {
    const first = await profileFingerprint(profile);
    assert.equal(await profileFingerprint(profile), first);
    await writeFile(join(profile, 'Default', 'Preferences'), '{"browser":{}}');
    await writeFile(join(profile, 'BrowserMetrics-spare.pma'), 'metrics');
    await writeFile(join(profile, 'Default', 'Service Worker', 'CacheStorage', 'index'), 'cached script');
    assert.equal(await profileFingerprint(profile), first);
  });

  it('changes when a stored file is rewritten, even at the same size, and when one is added', async () => {
    const login = join(profile, INDEXED_DB, '000003.log');
    const first = await profileFingerprint(profile);
    await writeFile(login, 'LOGIN');
    await utimes(login, new Date(), new Date(Date.now() + 5_000));
    const rewritten = await profileFingerprint(profile);
    assert.notEqual(rewritten, first);
    await mkdir(join(profile, 'Default', 'Local Storage', 'leveldb'), { recursive: true });
    await writeFile(join(profile, 'Default', 'Local Storage', 'leveldb', '000003.log'), 'key');
    assert.notEqual(await profileFingerprint(profile), rewritten);
  });
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { EngineAuthStore } from '../../db/engine-auth.js';
import { sessionKey } from '../../domain/session-key.js';
import { PostgresAuth, profileName, type AuthStore } from '../../engine/real/postgres-auth.js';
import { parseKeyring } from '../../lib/keyring.js';
import { openPool, testLog, uniqueId } from '../helpers/context.js';

const LOGIN_FILE = join('Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb', '000003.log');

/**
 * One host's view of a session's login: its profile folder, and the strategy the library calls before launching the
 * browser and once the login is ready (which saves it).
 */
class HostProfile {
  constructor(
    private readonly profilesDir: string,
    private readonly sessionId: string,
    private readonly store: AuthStore,
  ) {}

  private get file() {
    return join(this.profilesDir, profileName(this.sessionId), LOGIN_FILE);
  }

  /** What the library does before it launches the browser: the profile the browser will open. */
  async open(): Promise<PostgresAuth> {
    // Saves only when a test asks, never from a timer.
    const auth = new PostgresAuth(this.sessionId, this.profilesDir, this.store, testLog, 3_600_000, []);
    (auth as unknown as { setup(client: unknown): void }).setup({ options: { puppeteer: {} } });
    await auth.beforeBrowserInitialized();
    return auth;
  }

  /** The page wrote its login, and the library reports it ready: the login is saved. */
  async login(auth: PostgresAuth, content: string): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    await writeFile(this.file, content);
    await auth.afterAuthReady();
    await auth.destroy();
  }

  async content(): Promise<string | null> {
    return readFile(this.file, 'utf8').catch(() => null);
  }
}

describe('a login saved in PostgreSQL wins over an older profile left on a host', () => {
  let pool: DatabasePool;
  let store: AuthStore;
  const dirs: string[] = [];
  const hostDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wa-precedence-'));
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    pool = await openPool();
    const logins = new EngineAuthStore(pool, parseKeyring(process.env.ENCRYPTION_KEYS ?? ''));
    store = {
      load: (id) => logins.load(id),
      savedDigest: (id) => logins.savedDigest(id),
      save: (id, data, sha) => logins.save(id, 'real', data, sha),
      remove: (id) => logins.remove(id),
    };
  });
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    await pool?.end();
  });

  it('a session back on a host it ran on before starts from what another host saved since; its own last save it keeps', async () => {
    const sessionId = sessionKey(uniqueId('ws-precedence'), uniqueId('moved'));
    const first = new HostProfile(await hostDir(), sessionId, store);
    const second = new HostProfile(await hostDir(), sessionId, store);

    await first.login(await first.open(), 'login as first saved');
    // Moved: the second host starts from the saved login, and the page's login changes there and is saved.
    const onSecond = await second.open();
    assert.equal(await second.content(), 'login as first saved');
    await second.login(onSecond, 'login as the second host saved it');

    // Back on the first host, whose old profile is still on its disk.
    const back = await first.open();
    assert.equal(await first.content(), 'login as the second host saved it');
    await back.afterAuthReady();
    await back.destroy();
    const saved = (await store.load(sessionId)) ?? Buffer.alloc(0);
    assert.ok(saved.length > 0);
    assert.equal(
      await second.open().then(() => second.content()),
      'login as the second host saved it',
      'the login saved stayed the newer one',
    );

    // A profile that is the last login saved, grown since (not yet saved again), stays as it is.
    const again = await first.open();
    await writeFile(join(dirs[0] ?? '', profileName(sessionId), LOGIN_FILE), 'grown on the first host since');
    await again.destroy();
    await first.open();
    assert.equal(await first.content(), 'grown on the first host since');
  });

  it('a login is saved and restored without ever being written to a temporary file: it works with no temporary directory at all', async () => {
    const sessionId = sessionKey(uniqueId('ws-precedence'), uniqueId('no-temp'));
    const first = new HostProfile(await hostDir(), sessionId, store);
    const second = new HostProfile(await hostDir(), sessionId, store);
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = join(await hostDir(), 'no-such-directory');
    try {
      await first.login(await first.open(), 'a login that never touches /tmp');
      assert.ok(await store.savedDigest(sessionId), 'saved');
      await second.open();
      assert.equal(await second.content(), 'a login that never touches /tmp', 'restored on another host');
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
  });

  it('with no login saved yet, the profile on the host is all there is, and is kept', async () => {
    const sessionId = sessionKey(uniqueId('ws-precedence'), uniqueId('unsaved'));
    const dir = await hostDir();
    const host = new HostProfile(dir, sessionId, store);
    await mkdir(
      join(dir, profileName(sessionId), 'Default', 'IndexedDB', 'https_web.whatsapp.com_0.indexeddb.leveldb'),
      {
        recursive: true,
      },
    );
    await writeFile(join(dir, profileName(sessionId), LOGIN_FILE), 'authenticated, not yet ready');
    await host.open();
    assert.equal(await host.content(), 'authenticated, not yet ready');
  });
});

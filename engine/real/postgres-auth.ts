import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import wwebjs from 'whatsapp-web.js';
import { pipeThroughCommand } from '../../lib/child-process.js';
import type { Logger } from '../../lib/logger.js';
import { splitSessionKey } from '../../domain/session-key.js';

/**
 * LocalAuth as it is at runtime: its typings declare the strategy hooks as properties, but they are prototype
 * methods, which a subclass overrides and reaches through super.
 */
interface LocalAuthHooks {
  beforeBrowserInitialized(): Promise<void>;
  afterBrowserInitialized(): Promise<void>;
  afterAuthReady(): Promise<void>;
  disconnect(): Promise<void>;
  destroy(): Promise<void>;
  logout(): Promise<void>;
}
const gzipAsync = promisify(gzip);
const LocalAuthBase = wwebjs.LocalAuth as unknown as new (options: {
  clientId: string;
  dataPath: string;
}) => LocalAuthHooks;

export interface AuthStore {
  load(sessionId: string): Promise<Buffer | null>;
  savedDigest(sessionId: string): Promise<{ contentSha256: string | null } | null>;
  save(sessionId: string, data: Buffer, contentSha256: string): Promise<void>;
  remove(sessionId: string): Promise<void>;
}

/** Caches and crash data: large, rebuilt by Chromium, no part of the login. */
const EXCLUDED = [
  'Cache',
  'Code Cache',
  'GPUCache',
  'GrShaderCache',
  'ShaderCache',
  'GraphiteDawnCache',
  'DawnCache',
  'Crashpad',
  'component_crx_cache',
  'CacheStorage',
  'ScriptCache',
];
/** Chromium's profile locks: stale after a crash, they would stop the next launch. */
const PROFILE_LOCKS = ['SingletonLock', 'SingletonSocket', 'SingletonCookie'];
/**
 * Chromium's tab restore: after a crash it reopens the last tabs in place of the page whatsapp-web.js drives,
 * which closes that page under the library. Never saved, and cleared before every launch.
 */
const SESSION_RESTORE = [
  'Default/Sessions',
  'Default/Current Session',
  'Default/Last Session',
  'Default/Current Tabs',
  'Default/Last Tabs',
];

/**
 * WhatsApp Web keeps its login in the Chromium profile. This strategy keeps a copy of the profile in PostgreSQL, so
 * a session restarts on any worker host without a new scan. It fixes what the library's RemoteAuth gets wrong for
 * us: the first backup is taken as soon as the session is ready (not a minute later); a transient disconnect or a
 * conflict never deletes anything; only a real logout (or the account's delete) removes the saved login.
 */
/**
 * The profile directory's name of a session key (workflows/ids.ts): whatsapp-web.js takes only [A-Za-z0-9_-] in a
 * client id, and the key's dot is outside it. The workspace's length in front keeps the name one session's only:
 * `session-4-acme-desk` is workspace `acme`, session `desk`.
 */
export function profileName(key: string): string {
  const { workspaceId, sessionId } = splitSessionKey(key);
  return `session-${workspaceId.length}-${workspaceId}-${sessionId}`;
}

/** Beside a session's profile folder, not in it: the hash of the saved login the profile is (or grew from). */
export function savedLoginMarkerName(key: string): string {
  return `${profileName(key)}.saved-sha256`;
}

/**
 * Where a page's login lives in a Chromium profile: its web storage. Chromium rewrites other files of an idle profile
 * every minute or so (its preferences, metrics, history journal, quota bookkeeping), none of which a login needs.
 */
const PAGE_STORAGE = [
  'Default/IndexedDB',
  'Default/Local Storage',
  'Default/Session Storage',
  'Default/Service Worker',
  'Default/Cookies',
];

/**
 * What the page's storage in a profile looks like, without reading it: each file's path, size and modification time
 * (nanoseconds), in a sorted walk that skips what a save leaves out. An equal fingerprint means the login has not
 * changed, so an idle session's minute save is a walk of a few folders and not a tar, a gzip, a seal and a query;
 * the rest of the profile is saved with the next change of its storage.
 */
export async function profileFingerprint(profileDir: string): Promise<string> {
  const hash = createHash('sha256');
  const skippedNames = new Set([...EXCLUDED, ...PROFILE_LOCKS]);
  const walk = async (path: string): Promise<void> => {
    // A file that vanishes mid-walk changes the fingerprint, which only costs one save.
    const stats = await stat(join(profileDir, path), { bigint: true }).catch(() => null);
    if (stats?.isDirectory()) {
      const names = (await readdir(join(profileDir, path)).catch(() => [] as string[])).sort();
      for (const name of names) if (!skippedNames.has(name)) await walk(`${path}/${name}`);
      return;
    }
    hash.update(`${path}\0${stats?.size ?? -1n}\0${stats?.mtimeNs ?? -1n}\n`);
  };
  for (const path of PAGE_STORAGE) await walk(path);
  return hash.digest('hex');
}

/**
 * When a session's login is saved again after `ready` (ms): Chromium commits web storage to disk about 5 s after a page
 * writes it, so the save at `ready` can miss the newest login state, and saves shortly after complete it.
 */
export const FOLLOW_UP_SAVES_MS: readonly number[] = [6_000, 15_000, 30_000];

/** Thrown inside the library's start when the client was stopped before its browser was up. */
export class StoppedBeforeBrowser extends Error {
  constructor() {
    super('the session was stopped before its browser was up');
  }
}

export class PostgresAuth extends LocalAuthBase {
  private backupTimers: NodeJS.Timeout[] = [];
  /**
   * The client was stopped. The library closes only a browser it already holds, so a start still on its way to the
   * browser is ended at the next of its steps that passes through here, before WhatsApp Web is opened.
   */
  private stopped = false;
  /** The library's start reached the browser: from then on it holds the browser and closes it itself. */
  private browserHeld = false;
  /** The fingerprint of the profile as it was when the last save succeeded. */
  private savedFingerprint: string | null = null;
  private readonly profileDir: string;
  /** The hash of the saved login this profile is (or grew from). */
  private readonly savedMarker: string;

  constructor(
    private readonly sessionId: string,
    dataPath: string,
    private readonly store: AuthStore,
    private readonly log: Logger,
    private readonly backupIntervalMs = 60_000,
    private readonly followUpBackupsMs = FOLLOW_UP_SAVES_MS,
  ) {
    super({ clientId: profileName(sessionId).slice('session-'.length), dataPath });
    this.profileDir = join(dataPath, profileName(sessionId));
    this.savedMarker = join(dataPath, savedLoginMarkerName(sessionId));
  }

  /**
   * The login in PostgreSQL is the session's: the profile left on this host is used only while it is that login or
   * newer (this host made the last save, or restored it and saved nothing since). A session that ran on another host
   * meanwhile comes back with what that host saved; the old profile here would otherwise run an older login, and its
   * first save overwrite the newer one. With nothing saved yet (a login not yet ready), the profile here is all there is.
   */
  override async beforeBrowserInitialized(): Promise<void> {
    this.refuseIfStopped();
    const saved = await this.store.savedDigest(this.sessionId);
    if (saved !== null) {
      const local = await stat(this.profileDir).then(
        () => true,
        () => false,
      );
      const localIs = await readFile(this.savedMarker, 'utf8').catch(() => null);
      if (!local || saved.contentSha256 === null || saved.contentSha256 !== localIs) {
        const login = await this.store.load(this.sessionId);
        if (login) {
          // Cleared first: a restore that fails half-way leaves a profile no later start takes for the saved login.
          await this.markSaved(null);
          await rm(this.profileDir, { recursive: true, force: true });
          await this.restore(login);
          await this.markSaved(saved.contentSha256);
        }
      }
    }
    // A worker that died left its locks and its tabs in the profile: the next Chromium would refuse the profile or
    // restore the tabs over the page the library drives.
    await Promise.all(
      [...PROFILE_LOCKS, ...SESSION_RESTORE].map((name) =>
        rm(join(this.profileDir, name), { recursive: true, force: true }),
      ),
    );
    this.refuseIfStopped();
    await super.beforeBrowserInitialized();
  }

  /** The browser is up and WhatsApp Web not yet opened: the last step at which a stopped start can still end. */
  override async afterBrowserInitialized(): Promise<void> {
    this.refuseIfStopped();
    this.browserHeld = true;
    await super.afterBrowserInitialized();
  }

  /** The client is stopping: no further save, and a start still under way ends before it opens WhatsApp Web. */
  stop(): void {
    this.stopped = true;
    this.stopBackups();
  }

  /** Only the first start: the library's own re-login after a logout on the phone runs these hooks again. */
  private refuseIfStopped(): void {
    if (this.stopped && !this.browserHeld) throw new StoppedBeforeBrowser();
  }

  override async afterAuthReady(): Promise<void> {
    this.stopBackups();
    await this.backup();
    for (const delay of this.followUpBackupsMs) this.backupTimers.push(setTimeout(() => void this.backup(), delay));
    this.backupTimers.push(setInterval(() => void this.backup(), this.backupIntervalMs));
    for (const timer of this.backupTimers) timer.unref();
  }

  /** A transient disconnect: keep everything, the session comes back with it. */
  override async disconnect(): Promise<void> {
    this.stopBackups();
  }

  override async destroy(): Promise<void> {
    this.stopBackups();
  }

  override async logout(): Promise<void> {
    this.stopBackups();
    this.savedFingerprint = null;
    await this.store.remove(this.sessionId);
    await this.markSaved(null);
    await super.logout();
  }

  private stopBackups() {
    for (const timer of this.backupTimers) clearTimeout(timer);
    this.backupTimers = [];
  }

  /**
   * Never throws: it runs from timers, where a rejection would take the whole worker and its sessions down. The
   * archive never touches the disk: tar writes it to this process, which seals it before it leaves.
   */
  private async backup(): Promise<void> {
    try {
      const present = await readdir(this.profileDir).catch(() => [] as string[]);
      if (present.length === 0) return;
      // Taken before the archive: a file written during the tar makes the next fingerprint differ, so it is saved then.
      const fingerprint = await profileFingerprint(this.profileDir);
      if (fingerprint === this.savedFingerprint) return;
      // Reproducible tar (sorted, no times or owners): its hash says whether the login changed since the last save.
      // The hash is of the very bytes that are saved: a hash of the live profile taken apart from the archive could
      // describe a newer profile than the one saved, and every later save would then see "unchanged".
      const tarBytes = await pipeThroughCommand(
        'tar',
        [
          '-cf',
          '-',
          '-C',
          this.profileDir,
          '--sort=name',
          '--mtime=@0',
          '--owner=0',
          '--group=0',
          '--numeric-owner',
          '--format=gnu',
          ...EXCLUDED.map((name) => `--exclude=${name}`),
          ...PROFILE_LOCKS.map((name) => `--exclude=${name}`),
          ...SESSION_RESTORE.map((name) => `--exclude=./${name}`),
          // Chromium writes while we read: a file that changes or vanishes mid-copy is not an error here.
          '--warning=no-file-changed',
          '--warning=no-file-removed',
          '--ignore-failed-read',
          '.',
        ],
        null,
        // GNU tar exits 1 when a file changed while it was read; the archive is still complete enough.
        [0, 1],
      );
      const contentSha256 = createHash('sha256').update(tarBytes).digest('hex');
      await this.store.save(this.sessionId, await gzipAsync(tarBytes), contentSha256);
      this.savedFingerprint = fingerprint;
      await this.markSaved(contentSha256);
    } catch (error) {
      this.log.warn(
        { sessionId: this.sessionId, err: (error as Error).message },
        'saving the WhatsApp login failed; retried at the next backup',
      );
    }
  }

  private async markSaved(contentSha256: string | null): Promise<void> {
    if (contentSha256 === null) await rm(this.savedMarker, { force: true });
    else await writeFile(this.savedMarker, contentSha256);
  }

  /** Unpacked straight from this process into the profile: the opened login is never written anywhere else. */
  private async restore(saved: Buffer): Promise<void> {
    await mkdir(this.profileDir, { recursive: true });
    await pipeThroughCommand('tar', ['-xzf', '-', '-C', this.profileDir], saved);
    this.log.info({ sessionId: this.sessionId }, 'restored the WhatsApp login from PostgreSQL');
  }
}

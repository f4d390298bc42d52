import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabasePool } from 'slonik';
import wwebjs from 'whatsapp-web.js';
import { deleteEngineAuth, type EngineAuthStore, type LeaseFence } from '../../db/engine-auth.js';
import { isPhoneNumber } from '../../domain/phone-number.js';
import { exitOrKill } from '../../infra/child-process.js';
import { memoryByProfile } from '../../infra/chromium-memory.js';
import type { Logger } from '../../lib/logger.js';
import { PhoneActionInbox, PhoneActionRefused } from '../../simulator/phone-action-inbox.js';
import type { Engine, EngineEvent, EngineSession, EngineStartOptions } from '../types.js';
import { chromiumEnvironment } from './chromium-environment.js';
import { classifyDisconnect, describeFailure } from './classify-disconnect.js';
import { PostgresAuth, profileName, type AuthStore } from './postgres-auth.js';

// whatsapp-web.js is CommonJS: its exports arrive as the default import.
const { Client } = wwebjs;
type WhatsAppClient = InstanceType<typeof Client>;

/** The WhatsApp Web version the stand-in answers as; the library serves it from its local web version cache. */
export const STANDIN_WEB_VERSION = '2.3000.0-wa-connect-standin';
const STANDIN_PAGE = fileURLToPath(new URL('./whatsapp-web-standin.html', import.meta.url));

/** How long a closing Chromium may take to write its profile before it is killed as hung. */
const BROWSER_EXIT_GRACE_MS = 10_000;

export interface RealEngineOptions {
  chromiumPath: string;
  /** Chromium profiles (the session's WhatsApp Web login) live under here, one folder per session. */
  dataDir: string;
  /** Serve the stand-in WhatsApp Web page instead of reaching web.whatsapp.com. */
  standIn: boolean;
  /** How long the page may take to show WhatsApp Web at all before the start fails. */
  launchTimeoutMs: number;
  /** Chromium's command-line flags (chromium-sandbox.ts: with the sandbox wherever the host allows it). */
  chromiumFlags: string[];
  /** The WhatsApp Web build every client loads unless its account pins another; null: the library's default. */
  webVersion: string | null;
  /**
   * Where a pinned build comes from (whatsapp-web.js's webVersionCache): `local`, this engine's folder (a build the
   * live page served once is kept there; the stand-in writes its page there); `remote`, a URL template with
   * `{version}` (https), each build checked against its listed SHA-256 (`digests`, by version) before it runs; `none`,
   * always the live page (no pin possible).
   */
  webVersionCache:
    { type: 'local' } | { type: 'remote'; remotePath: string; digests: ReadonlyMap<string, string> } | { type: 'none' };
}

/** The stand-in page answers as whatever build it is asked for. */
export function standInPage(html: string, version: string): string {
  return html.replaceAll(STANDIN_WEB_VERSION, version);
}

/** A WhatsApp Web build from the archive that is not run: not listed, not fetched, or not matching its SHA-256. */
export class WebBuildRefused extends Error {
  override readonly name = 'WebBuildRefused';
}

/** A build's HTML is a few megabytes; an archive answering more is not serving a build. */
const MAX_WEB_BUILD_BYTES = 32 * 1024 * 1024;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The body of a 200 answer to an https GET (redirects are not followed: the listed URL is the build's). */
function httpsGet(url: string, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const request = https.get(url, { timeout: timeoutMs }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`the archive answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) request.destroy(new Error(`the build is larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolvePromise(Buffer.concat(chunks)));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** A memory reading of every session's browser serves every session asking within this long. */
const MEMORY_READING_TTL_MS = 5_000;

interface RunningClient {
  client: WhatsAppClient;
  onEvent: (event: EngineEvent) => void;
  ended: boolean;
}

/**
 * The real engine: whatsapp-web.js driving Chromium through puppeteer. With `standIn`, the library loads the
 * stand-in page through its public webVersionCache option (it answers the request for web.whatsapp.com with the
 * cached page), so everything from the library's own code down to Chromium runs as in production, offline.
 */
export class WhatsAppWebEngine implements Engine {
  readonly name = 'real' as const;
  private readonly clients = new Map<string, RunningClient>();
  private readonly inbox: PhoneActionInbox | null;
  private readonly logins: EngineAuthStore;

  private constructor(
    private readonly pool: DatabasePool,
    databaseUrl: string,
    private readonly options: RealEngineOptions,
    private readonly log: Logger,
    logins: EngineAuthStore,
  ) {
    this.logins = logins;
    // On the stand-in, the phone's side is played through the same control surface as the simulated engine.
    this.inbox = options.standIn
      ? new PhoneActionInbox(
          pool,
          databaseUrl,
          () => [...this.clients.keys()],
          (sessionId, action, params) => this.playPhone(sessionId, action, params),
          log,
        )
      : null;
  }

  static async create(
    pool: DatabasePool,
    databaseUrl: string,
    options: RealEngineOptions,
    log: Logger,
    logins: EngineAuthStore,
  ): Promise<WhatsAppWebEngine> {
    const engine = new WhatsAppWebEngine(pool, databaseUrl, options, log, logins);
    await engine.killOrphanedBrowsers();
    await engine.inbox?.start();
    return engine;
  }

  /**
   * A worker killed hard leaves its Chromium processes running, re-parented to init. They hold profiles of this
   * host's engine directory; stop them before anything else uses those profiles.
   */
  private async killOrphanedBrowsers() {
    const marker = `--user-data-dir=${this.profilesDir}/`;
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.includes(marker)) continue;
      const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
      if (/^PPid:\s+1$/m.test(status)) {
        this.log.warn({ pid: Number(entry) }, 'stopping a Chromium left by a worker that died');
        try {
          process.kill(Number(entry), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }

  /** The saved login of one client: its saves carry the client's lease, so a client that lost it cannot save. */
  private authStoreFor(fence: LeaseFence | null): AuthStore {
    return {
      load: (sessionId) => this.logins.load(sessionId),
      save: (sessionId, data, contentSha256) => this.logins.save(sessionId, 'real', data, contentSha256, fence),
      remove: (sessionId) => this.logins.remove(sessionId),
    };
  }

  private get webCacheDir() {
    return resolve(this.options.dataDir, 'web-cache');
  }

  private get profilesDir() {
    return resolve(this.options.dataDir, 'sessions');
  }

  /**
   * The library's build options for one client. A pinned build is strict: a client never silently runs another
   * build than the one pinned; the start fails, and the account says why, until the build can be had.
   */
  private async webBuildOptions(accountPin: string | null | undefined): Promise<Partial<wwebjs.ClientOptions>> {
    const pinned = accountPin ?? this.options.webVersion;
    const cache = this.options.webVersionCache;
    if (cache.type === 'remote' && pinned) {
      await this.verifiedBuild(pinned, cache.remotePath, cache.digests);
      return { webVersion: pinned, webVersionCache: { type: 'local', path: this.verifiedBuildsDir, strict: true } };
    }
    // Only a pinned build comes from the archive: without a pin the page is WhatsApp's own, over its TLS.
    if (cache.type === 'none' || (cache.type === 'remote' && !this.options.standIn))
      return { webVersionCache: { type: 'none' } };
    if (this.options.standIn) {
      const version = pinned ?? STANDIN_WEB_VERSION;
      await this.standInBuild(version);
      return { webVersion: version, webVersionCache: { type: 'local', path: this.webCacheDir, strict: true } };
    }
    return {
      ...(pinned ? { webVersion: pinned } : {}),
      webVersionCache: { type: 'local', path: this.webCacheDir, strict: pinned !== null },
    };
  }

  /** Builds from the archive, each kept only once its bytes matched its listed SHA-256 (nothing else writes here). */
  private get verifiedBuildsDir() {
    return resolve(this.options.dataDir, 'verified-builds');
  }

  /** Fetches from the archive at most once at a time per build, however many sessions start on it together. */
  private readonly buildFetches = new Map<string, Promise<void>>();

  /**
   * Puts `version` in the verified builds, from the archive, when its bytes match the SHA-256 the operator listed
   * for it; throws a WebBuildRefused otherwise. A build on disk is checked again at every start: the library reads
   * exactly the file checked here.
   */
  private async verifiedBuild(version: string, remotePath: string, digests: ReadonlyMap<string, string>) {
    const listed = digests.get(version);
    if (!listed) throw new WebBuildRefused(`web build ${version} has no listed SHA-256 (WA_WEB_VERSION_DIGESTS)`);
    const file = join(this.verifiedBuildsDir, `${version}.html`);
    const onDisk = await readFile(file).catch(() => null);
    if (onDisk && sha256(onDisk) === listed) return;
    let fetching = this.buildFetches.get(version);
    if (!fetching) {
      fetching = (async () => {
        const url = remotePath.replaceAll('{version}', version);
        let body: Buffer;
        try {
          body = await httpsGet(url, this.options.launchTimeoutMs, MAX_WEB_BUILD_BYTES);
        } catch (error) {
          throw new WebBuildRefused(`web build ${version} could not be fetched: ${(error as Error).message}`);
        }
        if (sha256(body) !== listed)
          throw new WebBuildRefused(`web build ${version} does not match its listed SHA-256`);
        await mkdir(this.verifiedBuildsDir, { recursive: true });
        // Written aside and renamed: a start never reads half a build.
        const partial = `${file}.${process.pid}.partial`;
        await writeFile(partial, body);
        await rename(partial, file);
      })().finally(() => this.buildFetches.delete(version));
      this.buildFetches.set(version, fetching);
    }
    await fetching;
  }

  /** The stand-in's builds put in the web cache by this process: each once, however many sessions start on it. */
  private readonly standInBuilds = new Map<string, Promise<void>>();

  private standInBuild(version: string): Promise<void> {
    let written = this.standInBuilds.get(version);
    if (!written) {
      written = (async () => {
        await mkdir(this.webCacheDir, { recursive: true });
        const page = standInPage(await readFile(STANDIN_PAGE, 'utf8'), version);
        await writeFile(join(this.webCacheDir, `${version}.html`), page);
      })();
      // A write that failed is tried again by the next start, not remembered.
      written.catch(() => this.standInBuilds.delete(version));
      this.standInBuilds.set(version, written);
    }
    return written;
  }

  private memoryReading: { takenAt: number; bytes: Promise<Map<string, number>> } | null = null;

  /** The memory of one session's browser, from a reading of all of them shared by the sessions that ask together. */
  private async sessionMemoryBytes(sessionId: string): Promise<number | null> {
    if (!this.memoryReading || Date.now() - this.memoryReading.takenAt > MEMORY_READING_TTL_MS)
      this.memoryReading = { takenAt: Date.now(), bytes: memoryByProfile(this.profilesDir) };
    return (await this.memoryReading.bytes).get(profileName(sessionId)) ?? null;
  }

  async start(options: EngineStartOptions): Promise<EngineSession> {
    await this.stopClient(options.sessionId);
    // A reading taken before this start would give the new client its predecessor's memory.
    this.memoryReading = null;
    let webBuild: Partial<wwebjs.ClientOptions>;
    try {
      webBuild = await this.webBuildOptions(options.webVersion);
    } catch (error) {
      if (!(error instanceof WebBuildRefused)) throw error;
      return this.refusedStart(options, error);
    }
    const client = new Client({
      authStrategy: new PostgresAuth(
        options.sessionId,
        this.profilesDir,
        this.authStoreFor(options.fence ?? null),
        this.log,
      ) as unknown as wwebjs.AuthStrategy,
      puppeteer: {
        executablePath: this.options.chromiumPath,
        headless: true,
        args: this.options.chromiumFlags,
        env: chromiumEnvironment(),
      },
      ...webBuild,
      ...(options.pairingPhoneNumber
        ? {
            pairWithPhoneNumber: {
              phoneNumber: options.pairingPhoneNumber,
              showNotification: true,
              intervalMs: 180_000,
            },
          }
        : {}),
      authTimeoutMs: this.options.launchTimeoutMs,
      qrMaxRetries: 0,
    });
    const running: RunningClient = { client, onEvent: options.onEvent, ended: false };
    this.clients.set(options.sessionId, running);
    const end = (event: EngineEvent) => {
      if (running.ended) return;
      running.ended = true;
      options.onEvent(event);
    };

    /** The page shows a QR or a pairing code: only then can it switch to a pairing code. */
    let offeringLogin = false;
    client.on('qr', (qr: string) => {
      offeringLogin = true;
      options.onEvent({ type: 'qr', qr });
    });
    client.on('code', (code: string) => {
      offeringLogin = true;
      options.onEvent({ type: 'pairing_code', code });
    });
    client.on('authenticated', () => {
      offeringLogin = false;
      options.onEvent({ type: 'authenticated' });
    });
    client.on('ready', () => {
      options.onEvent({ type: 'ready' });
      if (this.options.standIn) void this.reportStandInCoverage(options.sessionId, client);
    });
    client.on('change_state', (state: unknown) =>
      this.log.info({ sessionId: options.sessionId, state: String(state) }, 'WhatsApp Web state'),
    );
    client.on('auth_failure', (message: unknown) => end({ type: 'auth_failure', reason: describeFailure(message) }));
    client.on('disconnected', (reason: unknown) =>
      end({ type: 'disconnected', kind: classifyDisconnect(reason), reason: String(reason) }),
    );

    // Runs in the background: QR, authenticated and ready arrive as events. A start that fails (WhatsApp Web
    // unreachable, a page that never shows WhatsApp) closes the browser, so no Chromium is left behind.
    void client.initialize().then(
      () => {
        // The library does not report a crashed browser: watch it.
        client.pupBrowser?.once('disconnected', () =>
          end({ type: 'disconnected', kind: 'transient', reason: 'browser_closed' }),
        );
      },
      async (error: unknown) => {
        const message = describeFailure(error);
        this.log.warn({ sessionId: options.sessionId, err: message }, 'WhatsApp Web did not start');
        await client.destroy().catch(() => undefined);
        end({
          type: 'disconnected',
          kind: 'transient',
          reason: /ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION/.test(message)
            ? 'whatsapp_unreachable'
            : `start_failed:${message.slice(0, 200)}`,
        });
      },
    );

    return {
      sessionId: options.sessionId,
      ownIdentity: async () => {
        const wid = client.info?.wid as { _serialized?: string; user?: string; server?: string } | undefined;
        if (!wid) return null;
        return { id: wid._serialized ?? `${wid.user}@${wid.server}`, pushName: client.info?.pushname ?? null };
      },
      resolveLid: async (lid) => {
        try {
          const [entry] = await client.getContactLidAndPhone([lid]);
          const phone = entry?.pn?.split('@')[0];
          return isPhoneNumber(phone) ? phone : null;
        } catch {
          return null;
        }
      },
      requestPairingCode: async (phoneNumber) => {
        // Asked at any other time, the library fails with whatever the page is missing (a TypeError before it is up).
        if (!offeringLogin)
          throw new Error('WhatsApp Web is not offering a login right now; try again once the account shows a QR');
        return client.requestPairingCode(phoneNumber);
      },
      logout: async () => {
        running.ended = true;
        await client.logout().catch(() => undefined);
        await this.stopClient(options.sessionId);
      },
      destroy: async () => {
        running.ended = true;
        await this.stopClient(options.sessionId);
      },
      state: async () => (await client.getState()) ?? null,
      webVersion: async () => (await client.getWWebVersion()) ?? null,
      memoryBytes: () => this.sessionMemoryBytes(options.sessionId),
    };
  }

  /**
   * A start whose build was refused: no browser runs; the session ends at once as a start that failed, so the
   * account retries it and its detail says why (a build listed later, or fixed in the archive, then starts).
   */
  private refusedStart(options: EngineStartOptions, error: WebBuildRefused): EngineSession {
    this.log.warn({ sessionId: options.sessionId, err: error.message }, 'WhatsApp Web build refused');
    setImmediate(() =>
      options.onEvent({ type: 'disconnected', kind: 'transient', reason: `start_failed:${error.message}` }),
    );
    return {
      sessionId: options.sessionId,
      ownIdentity: () => Promise.resolve(null),
      resolveLid: () => Promise.resolve(null),
      requestPairingCode: () => Promise.reject(new Error(`WhatsApp Web did not start: ${error.message}`)),
      logout: () => Promise.resolve(),
      destroy: () => Promise.resolve(),
      state: () => Promise.resolve(null),
      webVersion: () => Promise.resolve(null),
      memoryBytes: () => Promise.resolve(null),
    };
  }

  /** Saved auth is the session's Chromium profile; a logout or a delete removes it. */
  async removeAuth(sessionId: string): Promise<void> {
    await rm(resolve(this.profilesDir, profileName(sessionId)), { recursive: true, force: true });
    await deleteEngineAuth(this.pool, sessionId);
  }

  async close(): Promise<void> {
    await this.inbox?.stop();
    await Promise.all([...this.clients.keys()].map((sessionId) => this.stopClient(sessionId)));
  }

  private async stopClient(sessionId: string) {
    const running = this.clients.get(sessionId);
    if (!running) return;
    this.clients.delete(sessionId);
    running.ended = true;
    await running.client.destroy().catch(() => undefined);
    // destroy() returns at once when the library is already closing the browser, as it does on every disconnect.
    // Chromium writes the profile, the login with it, on its way out: killed mid-shutdown, it loses the login and
    // the reconnect asks for a new scan. So wait for it to exit, and kill it only when it hangs.
    const processHandle = running.client.pupBrowser?.process();
    if (!processHandle) return;
    const { killed } = await exitOrKill(processHandle, BROWSER_EXIT_GRACE_MS);
    if (killed)
      this.log.warn({ sessionId, graceMs: BROWSER_EXIT_GRACE_MS }, 'Chromium did not exit after closing; killed');
  }

  /** Logs which modules the library asked the stand-in for that it only answers harmlessly (the version guard reads it). */
  private async reportStandInCoverage(sessionId: string, client: WhatsAppClient) {
    try {
      const standinHarmlessModules =
        (await client.pupPage?.evaluate(() =>
          (
            globalThis as unknown as { __standin: { modulesAnsweredHarmlessly(): string[] } }
          ).__standin.modulesAnsweredHarmlessly(),
        )) ?? [];
      this.log.info({ sessionId, standinHarmlessModules }, 'stand-in module coverage');
    } catch {
      // The page may already be gone.
    }
  }

  private async playPhone(
    sessionId: string,
    action: string,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const page = this.clients.get(sessionId)?.client.pupPage;
    if (!page) throw new PhoneActionRefused('session_gone', 'the session is not running');
    try {
      return await page.evaluate(
        (a: string, p: Record<string, unknown>) =>
          (
            globalThis as unknown as {
              __standin: { apply(a: string, p: Record<string, unknown>): Record<string, unknown> };
            }
          ).__standin.apply(a, p),
        action,
        params,
      );
    } catch (error) {
      const message = describeFailure(error);
      const code = /^(?:Error: )?([a-z_]+):/.exec(message)?.[1] ?? 'invalid_action';
      throw new PhoneActionRefused(code, message);
    }
  }
}

import { resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import type { DatabasePool } from 'slonik';
import wwebjs from 'whatsapp-web.js';
import { endedSessionKeys } from '../../db/accounts.js';
import type { EngineAuthStore, LeaseFence } from '../../db/engine-auth.js';
import { isPhoneNumber } from '../../domain/phone-number.js';
import type { Logger } from '../../lib/logger.js';
import { PhoneActionInbox } from '../phone/inbox.js';
import { failedStartSession } from '../failed-start.js';
import { PROXY_PROBE_TIMEOUT_MS, probeProxy, type ProxyNetworkPolicy } from '../proxy-dialer.js';
import type { Engine, EngineEvent, EngineSession, EngineStartOptions } from '../types.js';
import {
  awaitBrowserExit,
  BrowserMemory,
  chromiumLaunch,
  closeOrKillBrowser,
  killOrphanedBrowsers,
} from './browser-processes.js';
import { chromiumEnvironment } from './chromium-environment.js';
import { classifyDisconnect, describeFailure } from './classify-disconnect.js';
import { ENDED_PROFILES_SWEEP_EVERY_MS, removeEndedProfiles } from './ended-profiles.js';
import { ownLid, ownProfilePicture } from './own-profile.js';
import {
  PostgresAuth,
  profileName,
  savedLoginMarkerName,
  StoppedBeforeBrowser,
  type AuthStore,
} from './postgres-auth.js';
import { ProxyBridge } from './proxy-bridge.js';
import { playPhoneOnStandIn, reportStandInCoverage } from './standin-phone.js';
import { WebBuildRefused, WebBuilds, type WebBuildOptions } from './web-builds.js';

// whatsapp-web.js is CommonJS: its exports arrive as the default import.
const { Client } = wwebjs;
type WhatsAppClient = InstanceType<typeof Client>;

export interface RealEngineOptions extends Omit<WebBuildOptions, 'fetchTimeoutMs'> {
  chromiumPath: string;
  /** How long the page may take to show WhatsApp Web at all before the start fails. */
  launchTimeoutMs: number;
  /** Chromium's command-line flags (chromium-sandbox.ts: with the sandbox wherever the host allows it). */
  chromiumFlags: string[];
  /** Where an account's proxy may be (PROXY_ALLOWED_HOSTS). */
  proxyPolicy: ProxyNetworkPolicy;
}

interface RunningClient {
  client: WhatsAppClient;
  auth: PostgresAuth;
  /** Settles once the library's start has ended either way, its browser closed if the start failed. */
  started: Promise<void>;
  onEvent: (event: EngineEvent) => void;
  ended: boolean;
  /** The loopback proxy its Chromium goes out through, when the account has a proxy. */
  bridge: ProxyBridge | null;
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
  private readonly builds: WebBuilds;
  private readonly memory: BrowserMemory;
  private readonly profilesSweep: NodeJS.Timeout;
  private readonly launch: { executablePath: string; env: Record<string, string> };

  private constructor(
    private readonly pool: DatabasePool,
    databaseUrl: string,
    private readonly options: RealEngineOptions,
    private readonly log: Logger,
    logins: EngineAuthStore,
  ) {
    this.logins = logins;
    this.builds = new WebBuilds({ ...options, fetchTimeoutMs: options.launchTimeoutMs });
    this.memory = new BrowserMemory(this.profilesDir);
    this.launch = chromiumLaunch(options.chromiumPath, log);
    this.profilesSweep = setInterval(() => void this.removeEndedProfiles(), ENDED_PROFILES_SWEEP_EVERY_MS);
    this.profilesSweep.unref();
    // On the stand-in, the phone's side is played through the same control surface as the simulated engine.
    this.inbox = options.standIn
      ? new PhoneActionInbox(
          pool,
          databaseUrl,
          () => [...this.clients.keys()],
          (sessionId, action, params) =>
            playPhoneOnStandIn(this.clients.get(sessionId)?.client.pupPage ?? null, action, params),
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
    await killOrphanedBrowsers(engine.profilesDir, log);
    await engine.removeEndedProfiles();
    await engine.inbox?.start();
    return engine;
  }

  /** The saved login of one client: its saves carry the client's lease, so a client that lost it cannot save. */
  private authStoreFor(fence: LeaseFence | null): AuthStore {
    return {
      load: (sessionId) => this.logins.load(sessionId),
      savedDigest: (sessionId) => this.logins.savedDigest(sessionId),
      save: (sessionId, data, contentSha256) => this.logins.save(sessionId, 'real', data, contentSha256, fence),
      remove: (sessionId) => this.logins.remove(sessionId),
    };
  }

  private get profilesDir() {
    return resolve(this.options.dataDir, 'sessions');
  }

  async start(options: EngineStartOptions): Promise<EngineSession> {
    await this.stopClient(options.sessionId);
    this.memory.forget();
    let webBuild: Partial<wwebjs.ClientOptions>;
    try {
      webBuild = await this.builds.clientOptions(options.webVersion);
    } catch (error) {
      if (!(error instanceof WebBuildRefused)) throw error;
      return this.refusedStart(options, error);
    }
    // A proxy that does not carry a connection is found before any browser starts, and named as the reason.
    let bridge: ProxyBridge | null = null;
    if (options.proxy) {
      const failure = await probeProxy(options.proxy, PROXY_PROBE_TIMEOUT_MS, this.options.proxyPolicy);
      if (failure) return this.failedStart(options, failure.reason, failure.message);
      bridge = await ProxyBridge.open(options.proxy, this.options.proxyPolicy, (tunnelFailure) =>
        this.log.warn(
          { sessionId: options.sessionId, reason: tunnelFailure.reason, err: tunnelFailure.message },
          'the account’s proxy did not open a tunnel',
        ),
      );
    }
    let auth: PostgresAuth;
    let client: wwebjs.Client;
    try {
      auth = new PostgresAuth(options.sessionId, this.profilesDir, this.authStoreFor(options.fence ?? null), this.log);
      client = new Client({
        authStrategy: auth as unknown as wwebjs.AuthStrategy,
        puppeteer: {
          executablePath: this.launch.executablePath,
          headless: true,
          // The host's signals are the host's: left to puppeteer, a SIGTERM would kill every browser before the drain
          // hands its sessions over, and a SIGINT would exit the process without a drain at all.
          handleSIGINT: false,
          handleSIGTERM: false,
          handleSIGHUP: false,
          args: bridge ? withBridge(this.options.chromiumFlags, bridge) : this.options.chromiumFlags,
          env: { ...chromiumEnvironment(), ...this.launch.env },
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
        // What the phone lists under "Linked devices"; unset, WhatsApp Web's own.
        ...(options.deviceName ? { deviceName: options.deviceName } : {}),
        ...(options.browserName ? { browserName: options.browserName } : {}),
      });
    } catch (error) {
      // No client holds the bridge yet: nothing else would ever close its listener.
      await bridge?.close();
      throw error;
    }
    const running: RunningClient = {
      client,
      auth,
      started: Promise.resolve(),
      onEvent: options.onEvent,
      ended: false,
      bridge,
    };
    this.clients.set(options.sessionId, running);
    const end = (event: EngineEvent) => {
      if (running.ended) return;
      running.ended = true;
      options.onEvent(event);
    };

    /** The page shows a QR or a pairing code: only then can it switch to a pairing code. */
    let offeringLogin = false;
    client.on('qr', (qr: string) => {
      if (running.ended) return;
      offeringLogin = true;
      options.onEvent({ type: 'qr', qr });
    });
    client.on('code', (code: string) => {
      if (running.ended) return;
      offeringLogin = true;
      options.onEvent({ type: 'pairing_code', code });
    });
    client.on('authenticated', () => {
      if (running.ended) return;
      offeringLogin = false;
      options.onEvent({ type: 'authenticated' });
    });
    client.on('ready', () => {
      if (running.ended) return;
      options.onEvent({ type: 'ready' });
      if (this.options.standIn) void reportStandInCoverage(client.pupPage, options.sessionId, this.log);
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
    running.started = client.initialize().then(
      () => {
        // The library does not report a crashed browser: watch it.
        client.pupBrowser?.once('disconnected', () =>
          end({ type: 'disconnected', kind: 'transient', reason: 'browser_closed' }),
        );
      },
      async (error: unknown) => {
        if (error instanceof StoppedBeforeBrowser) {
          await client.destroy().catch(() => undefined);
          return;
        }
        const message = describeFailure(error);
        this.log.warn({ sessionId: options.sessionId, err: message }, 'WhatsApp Web did not start');
        await client.destroy().catch(() => undefined);
        end({
          type: 'disconnected',
          kind: 'transient',
          // Through a proxy, a page that failed to load failed at the proxy when the bridge saw it fail.
          reason:
            bridge?.failure()?.reason ??
            (/ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION|ERR_PROXY|ERR_TUNNEL/.test(message)
              ? 'whatsapp_unreachable'
              : `start_failed:${message.slice(0, 200)}`),
        });
      },
    );

    return {
      sessionId: options.sessionId,
      ownIdentity: async () => {
        const wid = client.info?.wid as { _serialized?: string; user?: string; server?: string } | undefined;
        if (!wid) return null;
        return {
          id: wid._serialized ?? `${wid.user}@${wid.server}`,
          pushName: client.info?.pushname ?? null,
          lid: await ownLid(client).catch(() => null),
          platform: typeof client.info?.platform === 'string' ? client.info.platform : null,
        };
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
      memoryBytes: () => this.memory.bytesOf(profileName(options.sessionId)),
      profilePicture: () => ownProfilePicture(client),
      screenshot: async () => {
        if (!client.pupPage) throw new Error('the session has no page yet');
        const png = await client.pupPage.screenshot({ type: 'png' });
        return { contentType: 'image/png', bytes: Buffer.from(png) };
      },
    };
  }

  /**
   * A start whose build was refused: no browser runs; the session ends at once as a start that failed, so the
   * account retries it and its detail says why (a build listed later, or fixed in the archive, then starts).
   */
  private refusedStart(options: EngineStartOptions, error: WebBuildRefused): EngineSession {
    this.log.warn({ sessionId: options.sessionId, err: error.message }, 'WhatsApp Web build refused');
    return this.failedStart(options, 'start_failed', error.message);
  }

  /** A start that failed before any browser ran: the session ends at once, `reason` saying why. */
  private failedStart(options: EngineStartOptions, reason: string, message: string): EngineSession {
    if (reason.startsWith('proxy_'))
      this.log.warn({ sessionId: options.sessionId, reason, err: message }, 'the account’s proxy failed: no browser');
    return failedStartSession(options, reason, message);
  }

  /** Saved auth is the session's Chromium profile; a logout or a delete removes it. */
  async removeAuth(sessionId: string): Promise<void> {
    await rm(resolve(this.profilesDir, profileName(sessionId)), { recursive: true, force: true });
    await rm(resolve(this.profilesDir, savedLoginMarkerName(sessionId)), { force: true });
    await this.logins.remove(sessionId);
  }

  /** Best effort, again within the hour: a host that cannot read the accounts now keeps the profiles until then. */
  private async removeEndedProfiles(): Promise<void> {
    await removeEndedProfiles(
      this.profilesDir,
      (key) => this.clients.has(key),
      (keys) => endedSessionKeys(this.pool, keys),
      this.log,
    ).catch((error: unknown) =>
      this.log.warn({ err: String(error) }, 'could not remove the profiles of accounts that ended'),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.profilesSweep);
    await this.inbox?.stop();
    await Promise.all([...this.clients.keys()].map((sessionId) => this.stopClient(sessionId)));
  }

  private async stopClient(sessionId: string) {
    const running = this.clients.get(sessionId);
    if (!running) return;
    this.clients.delete(sessionId);
    running.ended = true;
    running.auth.stop();
    const browserUp = running.client.pupBrowser !== undefined && running.client.pupBrowser !== null;
    await closeOrKillBrowser(
      running.client.destroy(),
      resolve(this.profilesDir, profileName(sessionId)),
      sessionId,
      this.log,
    );
    // The library closes only a browser it already holds: a start still on its way there ends at its next step and
    // closes what it launched, and this stop waits for that, so no browser outlives its session's lease.
    if (!browserUp) await running.started;
    // destroy() returns at once when the library is already closing the browser, as it does on every disconnect.
    await awaitBrowserExit(running.client.pupBrowser?.process(), sessionId, this.log);
    await running.bridge?.close();
  }
}

/**
 * Chromium's flags for a session behind its proxy bridge: the bridge as its proxy, and reachable whatever rules
 * the host resolver is given (`MAP * ~NOTFOUND` would otherwise map its loopback address away too).
 */
function withBridge(flags: string[], bridge: ProxyBridge): string[] {
  const rules = '--host-resolver-rules=';
  return [
    ...flags.map((flag) => (flag.startsWith(rules) ? `${flag}, EXCLUDE 127.0.0.1` : flag)),
    `--proxy-server=${bridge.chromiumProxyServer}`,
  ];
}

import type { DatabasePool } from 'slonik';
import type { EngineAuthStore } from '../../db/engine-auth.js';
import type { Logger } from '../../lib/logger.js';
import { failedStartSession } from '../failed-start.js';
import { PhoneActionInbox, PhoneActionRefused } from '../phone/inbox.js';
import { PROXY_PROBE_TIMEOUT_MS, probeProxy, type ProxyNetworkPolicy } from '../proxy-dialer.js';
import { STRICT_POLICY } from '../../webhooks/network-policy.js';
import type { Engine, EngineSession, EngineStartOptions } from '../types.js';
import type { SimulatorSettings } from '../../config/simulator-settings.js';
import {
  SIMULATED_WEB_VERSION,
  SimulatedSession,
  simulatedAuthSchema,
  SimulatorRejection,
} from './simulated-session.js';

/**
 * The simulated WhatsApp engine: same interface and same code path in the workflow as the real one. Its auth lives
 * in PostgreSQL like the real engine's, so sessions move between worker hosts the same way. The phone's side is
 * played through the simulator_actions table (the API's control surface writes there).
 */
export class SimulatedEngine implements Engine {
  readonly name = 'simulated' as const;
  private readonly sessions = new Map<string, SimulatedSession>();
  private readonly inbox: PhoneActionInbox;

  private constructor(
    private readonly pool: DatabasePool,
    databaseUrl: string,
    private readonly settings: SimulatorSettings,
    log: Logger,
    private readonly logins: EngineAuthStore,
    /** The service's WhatsApp Web pin: the build every session reports unless its account pins another. */
    private readonly webVersion: string | null,
    /** Where an account's proxy may be (PROXY_ALLOWED_HOSTS). */
    private readonly proxyPolicy: ProxyNetworkPolicy,
  ) {
    this.inbox = new PhoneActionInbox(
      pool,
      databaseUrl,
      () => [...this.sessions.entries()].filter(([, session]) => !session.isGone).map(([sessionId]) => sessionId),
      async (sessionId, action, params) => {
        const session = this.sessions.get(sessionId);
        if (!session) throw new PhoneActionRefused('session_gone', 'the session stopped');
        try {
          return await session.apply(action, params);
        } catch (error) {
          if (error instanceof SimulatorRejection) throw new PhoneActionRefused(error.code, error.message);
          throw error;
        }
      },
      log,
    );
  }

  static async create(
    pool: DatabasePool,
    databaseUrl: string,
    settings: SimulatorSettings,
    log: Logger,
    logins: EngineAuthStore,
    webVersion: string | null = null,
    proxyPolicy: ProxyNetworkPolicy = STRICT_POLICY,
  ): Promise<SimulatedEngine> {
    const engine = new SimulatedEngine(pool, databaseUrl, settings, log, logins, webVersion, proxyPolicy);
    await engine.inbox.start();
    return engine;
  }

  async start(options: EngineStartOptions): Promise<EngineSession> {
    // The simulated phone is in this process, but the account's proxy is real: it must carry a connection to
    // WhatsApp Web as it must for the real engine, and fails the start the same way when it does not.
    if (options.proxy) {
      const failure = await probeProxy(options.proxy, PROXY_PROBE_TIMEOUT_MS, this.proxyPolicy);
      if (failure) return failedStartSession(options, failure.reason, failure.message);
    }
    const raw = await this.logins.load(options.sessionId);
    const savedAuth = raw ? simulatedAuthSchema.parse(JSON.parse(raw.toString('utf8'))) : null;
    const session = new SimulatedSession(
      options.sessionId,
      savedAuth,
      options.pairingPhoneNumber ?? null,
      this.settings,
      {
        saveAuth: (auth) =>
          this.logins.save(
            options.sessionId,
            'simulated',
            Buffer.from(JSON.stringify(auth)),
            null,
            options.fence ?? null,
          ),
        removeAuth: () => this.logins.remove(options.sessionId),
        onEvent: options.onEvent,
      },
      options.webVersion ?? this.webVersion ?? SIMULATED_WEB_VERSION,
      { deviceName: options.deviceName ?? null, browserName: options.browserName ?? null },
    );
    void this.sessions.get(options.sessionId)?.destroy();
    this.sessions.set(options.sessionId, session);
    session.begin();
    await this.inbox.catchUpSession(options.sessionId);
    return {
      sessionId: session.sessionId,
      ownIdentity: () => session.ownIdentity(),
      resolveLid: (lid) => session.resolveLid(lid),
      requestPairingCode: (phone) => session.requestPairingCode(phone),
      logout: () => session.logout(),
      state: () => session.state(),
      webVersion: () => session.webVersion(),
      memoryBytes: () => session.memoryBytes(),
      profilePicture: () => session.profilePicture(),
      screenshot: () => session.screenshot(),
      destroy: async () => {
        await session.destroy();
        if (this.sessions.get(options.sessionId) === session) this.sessions.delete(options.sessionId);
      },
    };
  }

  async removeAuth(sessionId: string): Promise<void> {
    await this.logins.remove(sessionId);
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) await session.destroy();
    this.sessions.clear();
    await this.inbox.stop();
  }
}

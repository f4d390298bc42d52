import type { DatabasePool } from 'slonik';
import { deleteEngineAuth, loadEngineAuth, saveEngineAuth } from '../../db/engine-auth.js';
import { claimPhoneAction, finishPhoneAction, pendingPhoneActions } from '../../db/simulator-actions.js';
import type { Logger } from '../../lib/logger.js';
import { PgListener } from '../../lib/pg-listener.js';
import type { Engine, EngineSession, EngineStartOptions } from '../types.js';
import type { SimulatorSettings } from './settings.js';
import { SimulatedSession, simulatedAuthSchema, SimulatorRejection } from './simulated-session.js';

/**
 * The simulated WhatsApp engine: same interface and same code path in the workflow as the real one. Its auth lives
 * in PostgreSQL like the real engine's, so sessions move between worker hosts the same way. The phone's side is
 * played through the simulator_actions table (the API's control surface writes there); this process hears of
 * actions through LISTEN/NOTIFY and applies those for the sessions it holds.
 */
export class SimulatedEngine implements Engine {
  readonly name = 'simulated' as const;
  private readonly sessions = new Map<string, SimulatedSession>();
  private listener: PgListener | null = null;

  private constructor(
    private readonly pool: DatabasePool,
    private readonly databaseUrl: string,
    private readonly settings: SimulatorSettings,
    private readonly log: Logger,
  ) {}

  static async create(pool: DatabasePool, databaseUrl: string, settings: SimulatorSettings, log: Logger): Promise<SimulatedEngine> {
    const engine = new SimulatedEngine(pool, databaseUrl, settings, log);
    await engine.listen();
    return engine;
  }

  async start(options: EngineStartOptions): Promise<EngineSession> {
    const raw = await loadEngineAuth(this.pool, options.sessionId);
    const savedAuth = raw ? simulatedAuthSchema.parse(JSON.parse(raw.toString('utf8'))) : null;
    const session = new SimulatedSession(options.sessionId, savedAuth, options.pairingPhoneNumber ?? null, this.settings, {
      saveAuth: (auth) => saveEngineAuth(this.pool, options.sessionId, 'simulated', Buffer.from(JSON.stringify(auth))),
      removeAuth: () => deleteEngineAuth(this.pool, options.sessionId),
      onEvent: options.onEvent,
    });
    this.sessions.get(options.sessionId)?.destroy();
    this.sessions.set(options.sessionId, session);
    session.begin();
    // Actions sent while no host held the session (between hosts) are applied now.
    for (const id of await pendingPhoneActions(this.pool, options.sessionId)) await this.handleAction(id);
    return {
      sessionId: session.sessionId,
      ownIdentity: () => session.ownIdentity(),
      resolveLid: (lid) => session.resolveLid(lid),
      requestPairingCode: (phone) => session.requestPairingCode(phone),
      logout: () => session.logout(),
      destroy: async () => {
        await session.destroy();
        if (this.sessions.get(options.sessionId) === session) this.sessions.delete(options.sessionId);
      },
    };
  }

  async removeAuth(sessionId: string): Promise<void> {
    await deleteEngineAuth(this.pool, sessionId);
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) await session.destroy();
    this.sessions.clear();
    await this.listener?.stop();
  }

  private async listen(): Promise<void> {
    this.listener = new PgListener({
      databaseUrl: this.databaseUrl,
      channel: 'wa_simulator_actions',
      onNotification: (payload) => {
        const id = Number(payload);
        if (Number.isInteger(id)) void this.handleAction(id);
      },
      // Actions sent while the listener was away are still pending: apply those of the sessions held here.
      onReconnected: () => void this.catchUp(),
      log: this.log,
    });
    await this.listener.start();
  }

  private async catchUp() {
    for (const sessionId of this.sessions.keys()) {
      for (const id of await pendingPhoneActions(this.pool, sessionId)) await this.handleAction(id);
    }
  }

  private async handleAction(id: number): Promise<void> {
    try {
      const live = [...this.sessions.entries()].filter(([, session]) => !session.isGone).map(([sessionId]) => sessionId);
      const action = await claimPhoneAction(this.pool, id, live);
      if (!action) return;
      const session = this.sessions.get(action.session_id);
      try {
        if (!session) throw new SimulatorRejection('session_gone', 'the session stopped');
        const result = await session.apply(action.action, action.params);
        await finishPhoneAction(this.pool, id, { state: 'applied', result });
      } catch (error) {
        const code = error instanceof SimulatorRejection ? error.code : 'invalid_action';
        await finishPhoneAction(this.pool, id, { state: 'rejected', result: { error: code, message: (error as Error).message } });
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message, actionId: id }, 'could not handle a simulator action');
    }
  }
}

import type { DatabasePool } from 'slonik';
import { claimPhoneAction, finishPhoneAction, pendingPhoneActions, type PhoneAction } from './actions.js';
import type { Logger } from '../../lib/logger.js';
import { PgListener } from '../../lib/pg-listener.js';

/** A phone action refused with a reason code (`not_showing_qr`, `wrong_code`, ...). */
export class PhoneActionRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type PhoneActionHandler = (
  sessionId: string,
  action: PhoneAction,
  params: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

/**
 * The phone's side, for engines that play it (the simulated engine, and the real engine on the WhatsApp Web
 * stand-in): hears of new simulator_actions through LISTEN/NOTIFY, claims those of the sessions this process holds,
 * hands them to the engine and writes the outcome the API waits for.
 */
export class PhoneActionInbox {
  private listener: PgListener | null = null;

  constructor(
    private readonly pool: DatabasePool,
    private readonly databaseUrl: string,
    private readonly heldSessions: () => string[],
    private readonly handle: PhoneActionHandler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.listener = new PgListener({
      databaseUrl: this.databaseUrl,
      channel: 'wa_simulator_actions',
      onNotification: (payload) => {
        const id = Number(payload);
        if (Number.isInteger(id)) void this.take(id);
      },
      // Actions sent while the listener was away are still pending: apply those of the sessions held here.
      onReconnected: () => void this.catchUp(),
      log: this.log,
    });
    await this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }

  /** Applies what was sent for a session before this process held it (between hosts). */
  async catchUpSession(sessionId: string): Promise<void> {
    for (const id of await pendingPhoneActions(this.pool, sessionId)) await this.take(id);
  }

  private async catchUp() {
    for (const sessionId of this.heldSessions()) await this.catchUpSession(sessionId);
  }

  private async take(id: number): Promise<void> {
    try {
      const action = await claimPhoneAction(this.pool, id, this.heldSessions());
      if (!action) return;
      try {
        const result = await this.handle(action.session_id, action.action, action.params);
        await finishPhoneAction(this.pool, id, { state: 'applied', result });
      } catch (error) {
        const code = error instanceof PhoneActionRefused ? error.code : 'invalid_action';
        await finishPhoneAction(this.pool, id, {
          state: 'rejected',
          result: { error: code, message: (error as Error).message },
        });
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message, actionId: id }, 'could not handle a phone action');
    }
  }
}

import type { OutcomeWait } from './actions.js';
import type { Logger } from '../../lib/logger.js';
import { PgListener } from '../../lib/pg-listener.js';

/** A notification lost while the listener reconnects costs at most this long: the waiter reads the row again then. */
const DEFAULT_FALLBACK_MS = 250;

/**
 * Tells the simulator's control surface when the outcome of a phone action it submitted has been written: the
 * worker's update NOTIFYs `wa_simulator_action_outcomes` with the action id (sql/0008), so a request answers as
 * soon as the phone has acted, with no row read every few milliseconds meanwhile.
 */
export class PhoneActionOutcomes {
  private readonly waiting = new Map<number, Set<() => void>>();
  private listener: PgListener | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Logger,
    private readonly fallbackMs = DEFAULT_FALLBACK_MS,
  ) {}

  async start(): Promise<void> {
    this.listener = new PgListener({
      databaseUrl: this.databaseUrl,
      channel: 'wa_simulator_action_outcomes',
      onNotification: (payload) => this.wake(Number(payload)),
      // Outcomes written while the listener was away: every waiter reads its row again.
      onReconnected: () => {
        for (const id of [...this.waiting.keys()]) this.wake(id);
      },
      log: this.log,
    });
    await this.listener.start();
  }

  async stop(): Promise<void> {
    for (const id of [...this.waiting.keys()]) this.wake(id);
    await this.listener?.stop();
  }

  /** Resolves when action `id` has changed, or after the fallback delay at the latest. */
  nextChange = (id: number): OutcomeWait => {
    let done: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), this.fallbackMs);
      done = () => {
        clearTimeout(timer);
        const waiters = this.waiting.get(id);
        waiters?.delete(done);
        if (waiters?.size === 0) this.waiting.delete(id);
        resolve();
      };
    });
    const waiters = this.waiting.get(id) ?? new Set<() => void>();
    waiters.add(done);
    this.waiting.set(id, waiters);
    return { changed, cancel: () => done() };
  };

  private wake(id: number) {
    for (const done of [...(this.waiting.get(id) ?? [])]) done();
  }
}

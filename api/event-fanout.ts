import type { DatabasePool } from 'slonik';
import { latestEventId, listEventsAfter, type AccountEventWithMetadata } from '../db/account-events.js';
import type { Logger } from '../lib/logger.js';
import { PgListener } from '../lib/pg-listener.js';

export interface Subscriber {
  workspaceId: string;
  sessionId: string | null;
  deliver(event: AccountEventWithMetadata): void;
}

/**
 * Pushes new account events to this process's WebSocket subscribers. Every API process LISTENs on PostgreSQL's
 * `wa_account_events` channel, so an event written by any worker reaches subscribers on every API process; nothing
 * depends on one process's memory. Per workspace it keeps the last event id it fetched, and event ids commit in
 * order within a workspace (see db/workspace-lock.ts), so fetching "after the last one" never skips any.
 */
export class EventFanout {
  private readonly subscribers = new Set<Subscriber>();
  private readonly cursors = new Map<string, number>();
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private listener: PgListener | null = null;

  constructor(
    private readonly pool: DatabasePool,
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.listener = new PgListener({
      databaseUrl: this.databaseUrl,
      channel: 'wa_account_events',
      onNotification: (payload) => {
        try {
          const { workspaceId } = JSON.parse(payload) as { workspaceId?: string };
          if (workspaceId) this.poke(workspaceId);
        } catch {
          // A malformed payload is no event of ours.
        }
      },
      // Whatever was written while the listener was away is fetched now.
      onReconnected: () => {
        for (const workspaceId of this.cursors.keys()) this.poke(workspaceId);
      },
      log: this.log,
    });
    await this.listener.start();
  }

  /** Adds a subscriber; it receives events committed after `afterId` (its own resume point) as they come. */
  async subscribe(subscriber: Subscriber): Promise<() => void> {
    this.subscribers.add(subscriber);
    if (!this.cursors.has(subscriber.workspaceId)) {
      const latest = await latestEventId(this.pool, subscriber.workspaceId);
      if (!this.cursors.has(subscriber.workspaceId)) this.cursors.set(subscriber.workspaceId, latest);
    }
    return () => this.subscribers.delete(subscriber);
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    await this.listener?.stop();
  }

  /** Fetches a workspace's new events once at a time; notifications that arrive meanwhile trigger one more round. */
  private poke(workspaceId: string) {
    if (![...this.subscribers].some((s) => s.workspaceId === workspaceId)) {
      this.cursors.delete(workspaceId);
      return;
    }
    if (this.fetching.has(workspaceId)) {
      this.again.add(workspaceId);
      return;
    }
    const round = this.fetchNew(workspaceId).finally(() => {
      this.fetching.delete(workspaceId);
      if (this.again.delete(workspaceId)) this.poke(workspaceId);
    });
    this.fetching.set(workspaceId, round);
  }

  private async fetchNew(workspaceId: string) {
    try {
      for (;;) {
        const after = this.cursors.get(workspaceId) ?? 0;
        const events = await listEventsAfter(this.pool, { workspaceId, sessionId: null, afterId: after, limit: 500 });
        for (const event of events) {
          this.cursors.set(workspaceId, event.id);
          for (const subscriber of this.subscribers) {
            if (
              subscriber.workspaceId === workspaceId &&
              (subscriber.sessionId === null || subscriber.sessionId === event.session_id)
            )
              subscriber.deliver(event);
          }
        }
        if (events.length < 500) return;
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message, workspaceId }, 'could not fetch new events');
    }
  }
}

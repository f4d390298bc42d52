import pg from 'pg';
import type { Logger } from './logger.js';

/**
 * A dedicated PostgreSQL connection LISTENing on one channel, reconnecting by itself with backoff. After a
 * reconnect it calls `onReconnected`, because notifications sent while it was away are lost: the owner then
 * catches up from the table the notifications point at.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private closed = false;

  constructor(
    private readonly options: {
      databaseUrl: string;
      channel: string;
      onNotification: (payload: string) => void;
      onReconnected: () => void;
      log: Logger;
    },
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    client.on('notification', (message) => this.options.onNotification(message.payload ?? ''));
    client.on('error', (error) => {
      if (this.client !== client) return;
      this.options.log.warn(
        { err: error.message, channel: this.options.channel },
        'listener lost its connection; reconnecting',
      );
      this.client = null;
      void client.end().catch(() => undefined);
      void this.reconnect();
    });
    await client.connect();
    // The channel name is a constant of this codebase, never input: LISTEN takes no bind parameters.
    await client.query(`LISTEN ${client.escapeIdentifier(this.options.channel)}`);
    this.client = client;
  }

  async stop(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async reconnect() {
    for (let attempt = 1; !this.closed && !this.client; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * attempt)));
      try {
        await this.start();
        this.options.onReconnected();
      } catch {
        // retried by the loop
      }
    }
  }
}

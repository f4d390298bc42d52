import pg from 'pg';
import type { Logger } from './logger.js';

/** How often the listening connection is asked to answer, and how long it may take. */
const HEARTBEAT_EVERY_MS = 15_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;

/**
 * A dedicated PostgreSQL connection LISTENing on one channel, reconnecting by itself with backoff. After a
 * reconnect it calls `onReconnected`, because notifications sent while it was away are lost: the owner then
 * catches up from the table the notifications point at. A listening connection sends nothing, so a network that
 * drops it silently (a partition, a database host gone, a restart behind it) raises no error: a heartbeat query
 * with a deadline finds it dead and reconnects.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;

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
    const client = new pg.Client({ connectionString: this.options.databaseUrl, query_timeout: HEARTBEAT_TIMEOUT_MS });
    client.on('notification', (message) => this.options.onNotification(message.payload ?? ''));
    client.on('error', (error) => this.lose(client, error.message));
    try {
      await client.connect();
      // The channel name is a constant of this codebase, never input: LISTEN takes no bind parameters.
      await client.query(`LISTEN ${client.escapeIdentifier(this.options.channel)}`);
    } catch (error) {
      // Connected but not listening (LISTEN timed out): the connection is ended here, or each retry leaks one.
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      // Stopped while this start was connecting: nothing may listen on after the stop.
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.heartbeat ??= setInterval(() => void this.checkConnection(), HEARTBEAT_EVERY_MS);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async checkConnection(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await client.query('SELECT 1');
    } catch (error) {
      this.lose(client, error instanceof Error ? error.message : String(error));
    }
  }

  private lose(client: pg.Client, why: string): void {
    if (this.client !== client) return;
    this.options.log.warn({ err: why, channel: this.options.channel }, 'listener lost its connection; reconnecting');
    this.client = null;
    void client.end().catch(() => undefined);
    void this.reconnect();
  }

  private async reconnect() {
    for (let attempt = 1; !this.closed && !this.client; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * attempt)));
      try {
        await this.start();
        if (this.closed) return;
        this.options.onReconnected();
      } catch {
        // retried by the loop
      }
    }
  }
}

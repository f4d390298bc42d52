import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/** How many event streams one key and one address may hold open in one API process, and how often keys are re-read. */
export interface StreamLimits {
  perKey: number;
  perAddress: number;
  /** A revoked key's streams close within this long. */
  revocationCheckMs: number;
  /** A subscriber that has this much unsent data is too slow: it is closed, and resumes with lastEventId. */
  maxBufferedBytes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  perKey: 20,
  perAddress: 50,
  revocationCheckMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
};

/** Close codes a client can act on (4000-4999 are the application's). */
export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_KEY_REVOKED = 4003;

interface OpenStream {
  keyId: number;
  address: string;
  close: (code: number, reason: string) => void;
}

/**
 * The open event streams of this API process: caps per key and per address, and the closing of every stream whose
 * key was revoked (a key re-read for all streams at once, one query per interval, not one per socket).
 */
export class StreamGuard {
  private readonly open = new Set<OpenStream>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: DatabasePool,
    readonly limits: StreamLimits,
  ) {
    this.timer = setInterval(() => void this.closeRevoked(), limits.revocationCheckMs);
    this.timer.unref();
  }

  /** Why a new stream is refused, or null when it may open. */
  refusal(keyId: number, address: string): string | null {
    const streams = [...this.open];
    if (streams.filter((stream) => stream.keyId === keyId).length >= this.limits.perKey) {
      return `this key already holds ${this.limits.perKey} event streams`;
    }
    if (streams.filter((stream) => stream.address === address).length >= this.limits.perAddress) {
      return `this address already holds ${this.limits.perAddress} event streams`;
    }
    return null;
  }

  /** Counts a stream until the returned function is called (on its close). */
  track(stream: OpenStream): () => void {
    this.open.add(stream);
    return () => void this.open.delete(stream);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async closeRevoked(): Promise<void> {
    const keyIds = [...new Set([...this.open].map((stream) => stream.keyId).filter((id) => id > 0))];
    if (keyIds.length === 0) return;
    try {
      const revoked = new Set(
        await this.pool.anyFirst(sql.type(z.object({ id: z.number() }))`
          SELECT id FROM api_keys WHERE id = ANY(${sql.array(keyIds, 'int8')}) AND revoked_at IS NOT NULL
        `),
      );
      for (const stream of this.open) {
        if (revoked.has(stream.keyId)) stream.close(CLOSE_KEY_REVOKED, 'the API key was revoked');
      }
    } catch {
      // The database is away: the next interval checks again.
    }
  }
}

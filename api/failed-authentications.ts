import { hashToken, liveOperatorSessionHashes } from '../db/operator-sessions.js';
import { keyPrefixesAfter, keyPrefixOf } from '../db/workspaces.js';
import type { DatabasePool } from 'slonik';

const WINDOW_MS = 60_000;
/** Past this many addresses, windows that are over are dropped; past ten times it, all (a flood of addresses). */
const TRACKED_ADDRESSES_SOFT_CAP = 10_000;

/**
 * Failed authentications (an invalid credential, or none where one is needed) per client address, in one-minute
 * windows. Past the limit the address's failures are answered 429 instead of 401; what passes is never counted, so
 * a valid key is never refused here (see KnownCredentials for what a locked-out address's guesses cost).
 */
export class FailedAuthentications {
  private readonly windows = new Map<string, { startedAt: number; failures: number }>();

  constructor(
    private readonly maxPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until this address may try again, or 0 when it may now. */
  retryAfterMs(address: string): number {
    const window = this.currentWindow(address);
    if (!window || window.failures < this.maxPerMinute) return 0;
    return window.startedAt + WINDOW_MS - this.now();
  }

  recordFailure(address: string): void {
    const window = this.currentWindow(address);
    if (window) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= TRACKED_ADDRESSES_SOFT_CAP) this.forgetPastWindows();
    this.windows.set(address, { startedAt: this.now(), failures: 1 });
  }

  private currentWindow(address: string) {
    const window = this.windows.get(address);
    if (window && this.now() - window.startedAt >= WINDOW_MS) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }

  private forgetPastWindows(): void {
    const now = this.now();
    for (const [address, window] of this.windows) if (now - window.startedAt >= WINDOW_MS) this.windows.delete(address);
    if (this.windows.size >= TRACKED_ADDRESSES_SOFT_CAP * 10) this.windows.clear();
  }
}

/** A locked-out address's unknown credentials wait for at most one directory read per this interval, shared. */
const DIRECTORY_REFRESH_MS = 1_000;
const ID_COMMIT_MARGIN = 100;

/**
 * Which credentials could be valid, for addresses past their limit of failures. Such an address still has every
 * credential checked (a valid key must pass even from an address that also sends junk: behind a NAT, or a tenant
 * whose script misbehaves), but a guess must not cost a lookup each: the address could send thousands a second.
 * So the API keeps the key prefixes that exist (the clear first part of every key, 12 random hex digits; read
 * incrementally by id, so one query returns only keys created since the last) and the hashes of live operator
 * sessions (a handful). A credential whose prefix or hash is unknown here waits for the next read of the directory
 * (at most one a second for all such requests together, started after it arrived, so a key created a moment ago in
 * another process is found), and is refused without a lookup of its own if it is still unknown then. Only a guess
 * at a real key's secret behind a prefix that exists (known only to those who saw the key or its listing) costs a
 * lookup, the same indexed one a valid request costs. Chosen over remembering keys seen valid recently, which would
 * refuse a valid key on its first use from such an address.
 */
export class KnownCredentials {
  private readonly prefixes = new Set<string>();
  private sessionHashes = new Set<string>();
  private lastKeyId = 0;
  private lastReadStartedAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(private readonly pool: DatabasePool) {}

  /** Whether a key might be valid: false only for one that certainly is not (malformed or an unknown prefix). */
  async mayBeKey(presented: string): Promise<boolean> {
    const prefix = keyPrefixOf(presented);
    if (!prefix) return false;
    return this.prefixes.has(prefix) || (await this.readSince(Date.now()), this.prefixes.has(prefix));
  }

  async mayBeSession(token: string): Promise<boolean> {
    const hash = hashToken(token);
    return this.sessionHashes.has(hash) || (await this.readSince(Date.now()), this.sessionHashes.has(hash));
  }

  /** Waits for a read of the directory that started at or after `since`. */
  private async readSince(since: number): Promise<void> {
    while (this.lastReadStartedAt < since) await this.read();
  }

  private read(): Promise<void> {
    this.reading ??= (async () => {
      const wait = this.lastReadStartedAt + DIRECTORY_REFRESH_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastReadStartedAt = Date.now();
      const [keys, sessions] = await Promise.all([
        // Identities are handed out before their rows commit, so a key may appear behind a later one: a margin.
        keyPrefixesAfter(this.pool, this.lastKeyId - ID_COMMIT_MARGIN),
        liveOperatorSessionHashes(this.pool),
      ]);
      for (const key of keys) {
        this.prefixes.add(key.key_prefix);
        this.lastKeyId = Math.max(this.lastKeyId, key.id);
      }
      this.sessionHashes = new Set(sessions);
    })().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }
}

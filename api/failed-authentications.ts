const WINDOW_MS = 60_000;
/** Past this many addresses, windows that are over are dropped; past ten times it, all (a flood of addresses). */
const TRACKED_ADDRESSES_SOFT_CAP = 10_000;

/**
 * Failed key lookups per client address, in one-minute windows. An address that failed too often is refused before
 * its next lookup, so guessing keys costs the database nothing and a flood of fake keys cannot crowd out real ones.
 * A valid key from that address waits for the window too: until it is looked up, it is one more guess.
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

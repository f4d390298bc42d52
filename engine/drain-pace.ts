/**
 * How many handed-over sessions may wait to land at once, whatever the rate: enough for the first landings to show
 * the rate, few enough that a fleet with no room to spare queues next to nothing.
 */
const MIN_IN_FLIGHT = 8;
/** How long a handed-over session should wait for another host, at most, at the rate the fleet has been landing them. */
const TARGET_WAIT_MS = 5_000;
/** The landings the rate is measured over. */
const RATE_WINDOW_MS = 5_000;
/**
 * A hand-over not seen landing by then (its account ended, or the lease store did not answer) stops holding a place:
 * the drain goes on at the pace the others set.
 */
const GIVE_UP_MS = 20_000;

/**
 * No hand-over seen landing this long after the first: no other host takes sessions (a host alone, or the others
 * full), so holding the rest here only delays the restart. A move shows its new lease within a second or two of the
 * hand-over, Chromium's start included (the lease is taken before the browser starts).
 */
const NOBODY_TAKES_MS = 10_000;

/**
 * The pace of a drain that the other hosts absorb: a session is handed over only while fewer are still waiting for
 * a host than the fleet lands in `TARGET_WAIT_MS` at its measured rate. Handed over faster, they would only queue for
 * the same CPU, each away from `connected` for the whole queue; handed over at this pace, each is away for about one
 * move while its own client runs here until its turn. The host's start pace stays the upper bound (engine/session-host.ts).
 * Times are the caller's (ms, monotonic), so the pace is tested without a clock.
 */
export class DrainPace {
  /** Handed over, not yet seen running elsewhere: when each was. */
  private readonly waiting = new Map<string, number>();
  private readonly landings: number[] = [];
  private firstHandedOverAt: number | null = null;
  private landedAny = false;

  handedOver(sessionId: string, now: number): void {
    this.waiting.set(sessionId, now);
    this.firstHandedOverAt ??= now;
  }

  /** The sessions still waiting for a host, to ask which have landed. */
  stillWaiting(): string[] {
    return [...this.waiting.keys()];
  }

  /** These sessions now run under another host's lease. */
  landed(sessionIds: Iterable<string>, now: number): void {
    for (const sessionId of sessionIds) {
      if (!this.waiting.delete(sessionId)) continue;
      this.landings.push(now);
      this.landedAny = true;
    }
  }

  /** Whether no other host takes sessions: the rest had better stop at once. */
  nobodyTakes(now: number): boolean {
    return !this.landedAny && this.firstHandedOverAt !== null && now - this.firstHandedOverAt >= NOBODY_TAKES_MS;
  }

  /** How many may wait at once now: the fleet's landings per second over the last few seconds, times the target wait. */
  allowedInFlight(now: number): number {
    while (this.landings.length > 0 && (this.landings[0] ?? now) <= now - RATE_WINDOW_MS) this.landings.shift();
    const perMs = this.landings.length / RATE_WINDOW_MS;
    return Math.max(MIN_IN_FLIGHT, Math.ceil(perMs * TARGET_WAIT_MS));
  }

  /** Whether the next session may be handed over now. */
  mayHandOver(now: number): boolean {
    let inFlight = 0;
    for (const handedAt of this.waiting.values()) if (now - handedAt < GIVE_UP_MS) inFlight += 1;
    return inFlight < this.allowedInFlight(now);
  }
}

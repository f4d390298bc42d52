/** Which of these sessions another host runs now, under a live lease; null when the lease store did not answer. */
export type LandingLook = (sessionIds: string[]) => Promise<Set<string> | null>;

export interface DrainPaceTimings {
  /**
   * How many handed-over sessions may wait to land at once, whatever the rate: enough for the first landings to show
   * the rate, few enough that a fleet with no room to spare queues next to nothing.
   */
  minInFlight: number;
  /**
   * How long a handed-over session should wait for another host's lease, at the rate the fleet has been taking them.
   * Above the hand-over-to-lease time of a fleet with room (about a second): a fleet slower than that is the limit,
   * and the pace falls to it.
   */
  targetWaitMs: number;
  /** The landings the rate is measured over. */
  rateWindowMs: number;
  /**
   * A hand-over not seen landing by then (its account ended, or its workflow is slow) stops holding a place: the
   * drain goes on at the pace the others set.
   */
  giveUpMs: number;
  /**
   * Hand-overs waiting and none landing for this long, by the lease store's answers: no other host takes sessions (a
   * host alone, or the others full), so holding the rest here only delays the restart.
   */
  nobodyTakesMs: number;
  /** How often the lease store is asked which hand-overs have landed. */
  lookEveryMs: number;
  /** How long one look may take before the drain goes on without its answer (the grace must hold). */
  lookWithinMs: number;
}

export const DRAIN_PACE_TIMINGS: DrainPaceTimings = {
  minInFlight: 8,
  targetWaitMs: 5_000,
  rateWindowMs: 5_000,
  giveUpMs: 20_000,
  nobodyTakesMs: 10_000,
  lookEveryMs: 250,
  lookWithinMs: 1_000,
};

/**
 * The pace of a drain that the other hosts absorb: a session is handed over only while fewer are waiting for another
 * host's lease than the fleet has taken in `targetWaitMs` at its measured rate. Handed over faster, they would only
 * queue for the same CPU, each away from `connected` for the whole queue; at this pace each waits about
 * `targetWaitMs` at most for its new host, while the rest keep running here until their turn. "Landed" is the new
 * host's lease, which is taken before its client starts (Chromium's start comes after). The host's start pace stays
 * the upper bound (engine/session-host.ts). Time is the pace's own clock (ms, monotonic), so tests set it.
 */
export class DrainPace {
  /** Handed over, not yet seen under another host's lease, and not given up on: when each was. */
  private readonly waiting = new Map<string, number>();
  /** When each landing within the rate window was seen. */
  private readonly landings: number[] = [];
  private lastLandingAt = Number.NEGATIVE_INFINITY;
  private lastLookAt = Number.NEGATIVE_INFINITY;
  /** When the lease store last answered a look. */
  private lastAnswerAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly look: LandingLook,
    private readonly timings: DrainPaceTimings = DRAIN_PACE_TIMINGS,
    readonly now: () => number = () => performance.now(),
  ) {}

  handedOver(sessionId: string): void {
    this.waiting.set(sessionId, this.now());
  }

  /**
   * Waits until the next session may be handed over: `go`, or `stop` once `deadline` (on the pace's clock) has come
   * or no other host takes sessions; then the rest stop at once.
   */
  async nextTurn(deadline: number): Promise<'go' | 'stop'> {
    for (;;) {
      if (this.now() >= deadline) return 'stop';
      if (this.now() - this.lastLookAt >= this.timings.lookEveryMs) await this.lookForLandings(deadline);
      if (this.nobodyTakes()) return 'stop';
      if (this.mayHandOver()) return 'go';
      await sleep(Math.min(this.timings.lookEveryMs, Math.max(0, deadline - this.now())));
    }
  }

  /** How many may wait at once now: the fleet's landings per second over the rate window, times the target wait. */
  allowedInFlight(): number {
    const now = this.now();
    while (this.landings.length > 0 && (this.landings[0] ?? now) <= now - this.timings.rateWindowMs) {
      this.landings.shift();
    }
    const perMs = this.landings.length / this.timings.rateWindowMs;
    return Math.max(this.timings.minInFlight, Math.ceil(perMs * this.timings.targetWaitMs));
  }

  /** Whether the next session may be handed over now, as far as the landings seen so far tell. */
  mayHandOver(): boolean {
    this.giveUpOnLate();
    return this.waiting.size < this.allowedInFlight();
  }

  /**
   * Whether no other host takes sessions: hand-overs wait, and the lease store has answered, `nobodyTakesMs` after the
   * last landing or the oldest of them (whichever is later), that none has landed. Time without answers counts for
   * nothing: a lease store that does not answer says nothing about the other hosts.
   */
  nobodyTakes(): boolean {
    this.giveUpOnLate();
    if (this.waiting.size === 0) return false;
    const oldestWaiting = Math.min(...this.waiting.values());
    return this.lastAnswerAt - Math.max(this.lastLandingAt, oldestWaiting) >= this.timings.nobodyTakesMs;
  }

  /** Asks the lease store which hand-overs have landed, for no longer than the look's bound or the grace allows. */
  async lookForLandings(deadline: number): Promise<void> {
    this.lastLookAt = this.now();
    const asked = [...this.waiting.keys()];
    const boundMs = Math.min(this.timings.lookWithinMs, Math.max(0, deadline - this.now()));
    let timer: NodeJS.Timeout | undefined;
    const landed = await Promise.race([
      this.look(asked).catch(() => null),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), boundMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (landed === null) return;
    this.lastAnswerAt = this.now();
    for (const sessionId of asked) {
      if (!landed.has(sessionId) || !this.waiting.delete(sessionId)) continue;
      this.landings.push(this.lastAnswerAt);
      this.lastLandingAt = this.lastAnswerAt;
    }
  }

  private giveUpOnLate(): void {
    const now = this.now();
    for (const [sessionId, handedAt] of this.waiting) {
      if (now - handedAt >= this.timings.giveUpMs) this.waiting.delete(sessionId);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

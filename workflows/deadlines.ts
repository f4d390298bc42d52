/**
 * The account workflow's deadlines, in the order they are handled when several are due at once. Workflow time is
 * replayed deterministically, so `Date.now()` here is the time of the workflow task.
 */
export const DEADLINE_NAMES = [
  /** An unscanned account fails. */
  'qrExpiry',
  /** `authenticated` must be followed by `ready`. */
  'readyBy',
  /** A reconnect waits until then (backoff): no session is brought up before. */
  'reconnectAt',
  /** A session brought back up while disconnected must be connected by then. */
  'reconnectBy',
  /** Still no host with a free seat: the account says it is waiting for one. */
  'hostWaitNotice',
] as const;
export type DeadlineName = (typeof DEADLINE_NAMES)[number];

export class Deadlines {
  private readonly at = new Map<DeadlineName, number>();

  set(name: DeadlineName, at: number): void {
    this.at.set(name, at);
  }

  clear(...names: DeadlineName[]): void {
    for (const name of names) this.at.delete(name);
  }

  has(name: DeadlineName): boolean {
    return this.at.has(name);
  }

  /** Milliseconds until this deadline (0 when due), or null when it is not set. */
  msUntil(name: DeadlineName, now: number): number | null {
    const at = this.at.get(name);
    return at === undefined ? null : Math.max(0, at - now);
  }

  /** Milliseconds until the earliest deadline (0 when one is due), or null when none is set. */
  msUntilNext(now: number): number | null {
    if (this.at.size === 0) return null;
    return Math.max(0, Math.min(...this.at.values()) - now);
  }

  /** The first due deadline in handling order, cleared as it is returned. */
  takeDue(now: number): DeadlineName | null {
    for (const name of DEADLINE_NAMES) {
      const at = this.at.get(name);
      if (at !== undefined && at <= now) {
        this.at.delete(name);
        return name;
      }
    }
    return null;
  }
}

/**
 * The account workflow's deadlines, in the order they are handled when several are due at once.
 *
 * This order decides replay: when two deadlines are due in the same workflow task, the first one here is handled
 * first, and what it writes and starts is what the history holds. Reordering the list changes what a running
 * workflow does on replay, an incompatible change (docs/workflow-releases.md).
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
  /** A session moving after its host was lost is not back yet: its row stops saying `connected`. */
  'moveNotice',
] as const;
export type DeadlineName = (typeof DEADLINE_NAMES)[number];

/** When each set deadline falls (workflow time, which replay reproduces); plain data, carried over by continue-as-new. */
export type DeadlineTimes = Partial<Record<DeadlineName, number>>;

/** Milliseconds until this deadline (0 when due), or null when it is not set. */
export function msUntilDeadline(deadlines: DeadlineTimes, name: DeadlineName, now: number): number | null {
  const at = deadlines[name];
  return at === undefined ? null : Math.max(0, at - now);
}

/** Milliseconds until the earliest deadline (0 when one is due), or null when none is set. */
export function msUntilNextDeadline(deadlines: DeadlineTimes, now: number): number | null {
  const times = Object.values(deadlines).filter((at): at is number => at !== undefined);
  if (times.length === 0) return null;
  return Math.max(0, Math.min(...times) - now);
}

/** The first due deadline in handling order, or null. */
export function firstDueDeadline(deadlines: DeadlineTimes, now: number): DeadlineName | null {
  for (const name of DEADLINE_NAMES) {
    const at = deadlines[name];
    if (at !== undefined && at <= now) return name;
  }
  return null;
}

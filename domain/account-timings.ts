/**
 * How long an account waits for each thing, read once per run from the worker's configuration (a local activity, so
 * replay reads the same values from history). Production keeps the defaults; test workers shrink them.
 */
export interface AccountTimings {
  /** An unscanned account fails with `qr_expired` after this long. */
  qrExpiryMs: number;
  /** After `authenticated`, `ready` must come within this long, else the session restarts once, then fails. */
  readyTimeoutMs: number;
  /** An account that has waited this long for a host with a free seat says so (an event, `waiting_for_host`). */
  hostWaitNoticeMs: number;
  /** A host that has not picked up a task within this long is taken as dead. */
  hostScheduleToStartMs: number;
  /**
   * A backstop only: a host that has not heartbeat its session watch within this long is taken as dead. A dead host
   * is noticed sooner by the hosts still alive, when its session leases lapse (engine/host-leases.ts), and only its
   * sessions are told; a long timeout keeps idle sessions from costing Temporal a heartbeat each every few seconds.
   */
  hostHeartbeatTimeoutMs: number;
  /**
   * A connected session whose host was lost moves to another host; its row keeps saying `connected` for this long,
   * and a move back within it, with the same phone, writes nothing: backends see no flap for a move they could not
   * act on. Past it (or at once, with 0) the row says `disconnected` (`host_lost`) until the session is back.
   */
  hostMoveQuietMs: number;
  /** Phone extraction retries until this budget is spent, then the account fails. */
  phoneExtractionBudgetMs: number;
  /** Reconnect backoff: first delay, cap, and how many attempts before giving up. */
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  reconnectMaxAttempts: number;
}

export const DEFAULT_TIMINGS: AccountTimings = {
  qrExpiryMs: 5 * 60_000,
  readyTimeoutMs: 90_000,
  hostWaitNoticeMs: 5_000,
  hostScheduleToStartMs: 15_000,
  hostHeartbeatTimeoutMs: 10 * 60_000,
  hostMoveQuietMs: 10_000,
  phoneExtractionBudgetMs: 60_000,
  reconnectBaseDelayMs: 1_000,
  reconnectMaxDelayMs: 60_000,
  reconnectMaxAttempts: 12,
};

/** What one run of an account workflow reads from its worker at start. */
export interface AccountSettings {
  timings: AccountTimings;
  /** Continue-as-new after this many handled events; null: when Temporal suggests it. */
  continueAsNewAfterEvents: number | null;
}

/** The worker's answer, filled up with the defaults for what it leaves out. */
export function accountSettings(
  overrides: { timings?: Partial<AccountTimings>; continueAsNewAfterEvents?: number | null } = {},
): AccountSettings {
  return {
    timings: { ...DEFAULT_TIMINGS, ...overrides.timings },
    continueAsNewAfterEvents: overrides.continueAsNewAfterEvents ?? null,
  };
}

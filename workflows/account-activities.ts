import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type {
  AccountSettingsActivities,
  AccountStoreActivities,
  PlacementActivities,
  EngineSessionActivities,
  SessionLeaseActivities,
} from '../activities/index.js';
import type { AccountTimings } from '../domain/account-timings.js';
import { placementTaskQueue } from './ids.js';
import { readableResults } from './payload-checks.js';

// Database writes: short attempts, retried long enough to ride out a PostgreSQL restart.
const rowWriteRetry = {
  initialInterval: '200 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '10 seconds',
} as const;

/**
 * The row writes run inside the workflow task (local activities): each would otherwise cost an activity task and one
 * more workflow task through the server, which is most of the server's work per connection (docs/benchmarks.md).
 * Only the main loop calls them, one at a time, so no handler runs a local activity beside the loop's timers.
 */
const databaseWrite: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  // A row gone (an account whose create was undone) fails every try: the run fails at once instead of waiting on it.
  retry: { ...rowWriteRetry, nonRetryableErrorTypes: ['AccountConflictError'] },
  // Past a few quick retries, the next waits on a timer outside the workflow task: the task ends, and a host that
  // cannot reach the database (it then takes no workflow tasks) does not hold the account while the write fails.
  localRetryThreshold: '3 seconds',
};
/**
 * No schedule-to-close bound: a row write that gave up would fail the account's workflow, so a database outage
 * longer than the bound would end every account that wrote meanwhile. The write waits for the database instead, and
 * the account goes on where it was once the database is back; only a write that can never succeed fails the run.
 */
export const rowWrites = readableResults(proxyLocalActivities<AccountStoreActivities>(databaseWrite));

/**
 * What the account asks of its session's host through the lease store, when the host's task queue is out of reach.
 * Bounded: the account goes on without it (the lease then lapses on its own), and logs that it could not ask.
 */
export const leaseRequests = readableResults(
  proxyLocalActivities<SessionLeaseActivities>({ ...databaseWrite, scheduleToCloseTimeout: '15 minutes' }),
);

/**
 * The account's timings, from the worker that runs the workflow's first task of each run. A local activity: its
 * answer is recorded in the history, so replay reads the same timings whatever the replaying worker's configuration.
 */
export const workerSettings = readableResults(
  proxyLocalActivities<AccountSettingsActivities>({
    startToCloseTimeout: '10 seconds',
    retry: rowWriteRetry,
  }),
);

/**
 * On the placement queue, which each host polls only while it has a free seat: `claimHost` is answered by the first
 * host with room. No schedule-to-close bound: an account waits for room as long as it takes, and never fails for
 * the lack of it (its workflow tells how long it has waited).
 */
export function placement() {
  return readableResults(
    proxyActivities<PlacementActivities>({
      taskQueue: placementTaskQueue(workflowInfo().taskQueue),
      startToCloseTimeout: '10 seconds',
      retry: rowWriteRetry,
    }),
  );
}

/**
 * Activities on the host queue of the worker process that holds this account's engine session. Here as for every
 * activity of the account, a result the codec could not read fails the call (workflows/payload-checks.ts).
 */
export function hostActivities(taskQueue: string, timings: AccountTimings) {
  const onHost = (options: ActivityOptions) =>
    readableResults(
      proxyActivities<EngineSessionActivities>({
        taskQueue,
        scheduleToStartTimeout: timings.hostScheduleToStartMs,
        ...options,
      }),
    );
  return {
    // Starting a client (Chromium for the real engine) takes seconds; a host that never picks it up is dead. The
    // commands heartbeat while they run: one that never reached its host is retried after 10 s, not 2 minutes.
    engine: onHost({
      startToCloseTimeout: '2 minutes',
      heartbeatTimeout: '10 seconds',
      retry: {
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumAttempts: 3,
        nonRetryableErrorTypes: ['SessionNotOnHost', 'PairingCodeRefused'],
      },
    }),
    // Lives as long as the session; the heartbeat timeout is how a dead host is noticed.
    watch: onHost({
      startToCloseTimeout: '3650 days',
      heartbeatTimeout: timings.hostHeartbeatTimeoutMs,
      retry: { maximumAttempts: 1 },
    }),
    // WhatsApp provides the own number some time after `ready`: retried with backoff within a bounded budget.
    extraction: onHost({
      startToCloseTimeout: '5 seconds',
      scheduleToCloseTimeout: timings.phoneExtractionBudgetMs,
      retry: {
        initialInterval: '200 milliseconds',
        backoffCoefficient: 1.5,
        maximumInterval: '2 seconds',
        nonRetryableErrorTypes: ['PhoneUnresolvable', 'SessionNotOnHost'],
      },
    }),
  };
}
export type HostActivityProxies = ReturnType<typeof hostActivities>;

/** The failure's type (ApplicationFailure) or a timeout's kind: what a person reads in `failure_reason`. */
export function failureReason(error: unknown, fallback: string): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type) return cause.type;
  if (cause && typeof cause === 'object' && 'timeoutType' in cause) {
    return `timeout_${String(cause.timeoutType)}`;
  }
  return fallback;
}

/**
 * The reason of an activity that ran out of its schedule-to-close budget is its last attempt's: one that no host
 * picked up, or that never answered, is a host lost, not the activity's own failure.
 */
export function lastAttemptReason(error: unknown, fallback: string): string {
  const reason = failureReason(error, fallback);
  if (reason !== 'timeout_SCHEDULE_TO_CLOSE') return reason;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const lastAttempt = cause instanceof Error ? cause.cause : undefined;
  return lastAttempt ? failureReason(lastAttempt, reason) : reason;
}

/** The message a person reads for a failed activity: the cause's own words when it has them. */
export function failureMessage(error: unknown, fallback: string): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : fallback;
}

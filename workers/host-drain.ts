import type { Worker } from '@temporalio/worker';
import { exitWithin } from '../lib/exit-deadline.js';
import type { Logger } from '../lib/logger.js';
import type { HostRuntime } from './host-runtime.js';

/** After its sessions are handed over, how long the worker's own shutdown may take before it exits regardless. */
export const WORKER_STOP_GRACE_MS = 20_000;

export interface HostWorkers {
  shared: Worker;
  /** The shared worker's run, begun already: the drain waits for its last tasks. */
  sharedRun: Promise<void>;
  placement: Worker;
  host: Worker;
}

/** Stops every worker still running; their runs then end. */
export function shutdownWorkers(workers: HostWorkers): void {
  for (const worker of [workers.placement, workers.shared, workers.host]) {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  }
}

/**
 * The drain protocol, on SIGTERM or SIGINT: the host stops taking sessions, hands its sessions to other hosts at a
 * bounded rate (their logins stay saved, so the others resume them without a scan), and exits when it holds none or
 * after the grace period. A second signal stops at once.
 */
export function drainOnSignals(
  runtime: HostRuntime,
  workers: HostWorkers,
  graceMs: number,
  log: Logger,
  /** What stops taking new work at once (the webhook outbox's dispatcher): a draining host starts nothing new. */
  stopTakingWork: () => Promise<void>,
): void {
  let draining = false;
  const drain = async (signal: string) => {
    if (draining) {
      log.warn({ signal }, 'second signal: stopping now');
      return shutdownWorkers(workers);
    }
    draining = true;
    void stopTakingWork();
    void runtime.beginDrain();
    log.info(
      { signal, sessions: runtime.sessions.size },
      'draining: no new sessions; handing this host’s sessions over',
    );
    // The hand-over is bounded by its grace; the workers' own shutdown is bounded here (a Temporal that is gone
    // never answers their last polls).
    exitWithin(graceMs + WORKER_STOP_GRACE_MS, log, signal);
    workers.placement.shutdown();
    // Workflows this host has cached would have their next tasks sent to its own (sticky) queue, and wait Temporal's
    // sticky timeout once it is gone. Its workflow worker stops first: Temporal then sends their tasks to the shared
    // queue, where the other hosts take them at once, and the hand-over below moves sessions without that wait.
    // Its last tasks finish on their own; the sessions need not wait for a poll or a webhook attempt to end.
    workers.shared.shutdown();
    await Promise.race([workers.sharedRun, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    log.info(await runtime.handOver(graceMs), 'drained');
    shutdownWorkers(workers);
  };
  process.on('SIGTERM', () => void drain('SIGTERM'));
  process.on('SIGINT', () => void drain('SIGINT'));
  // A closed terminal (SIGHUP) would otherwise kill the worker without a drain, its detached browsers left running.
  process.on('SIGHUP', () => void drain('SIGHUP'));
}

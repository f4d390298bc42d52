import type { Logger } from './logger.js';

/**
 * Once a process begins to stop, it is gone within `ms`: a graceful path that hangs (a peer that never finishes
 * closing its WebSocket, a Temporal server that no longer answers) must not keep it, its port or its task queue
 * alive. The timer does not itself keep the process running.
 */
export function exitWithin(ms: number, log: Logger, reason: string): void {
  const timer = setTimeout(() => {
    log.error({ reason, graceMs: ms }, 'a graceful stop did not finish in time; exiting now');
    process.exit(1);
  }, ms);
  timer.unref();
}

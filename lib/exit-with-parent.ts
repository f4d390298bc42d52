/** What an orphaned process does: exit at once until it has something to shut down in order. */
export interface ParentWatch {
  /** From now on an orphaned process runs `shutdown` instead of exiting at once. */
  whenOrphaned(shutdown: () => void): void;
}

/**
 * When a supervisor (`npm start`, the test runner) dies without stopping its children, the children notice that
 * they were re-parented and shut themselves down, so no orphan keeps a port or a task queue. Watched from the
 * process's first step: one still waiting for its database (db/migrate.ts waits up to two minutes) exits too.
 */
export function exitWithParent(supervised: boolean, intervalMs = 1_000): ParentWatch {
  let shutdown: () => void = () => process.exit(1);
  if (supervised) {
    const parentAtStart = process.ppid;
    const timer = setInterval(() => {
      if (process.ppid !== parentAtStart) {
        clearInterval(timer);
        shutdown();
      }
    }, intervalMs);
    timer.unref();
  }
  return {
    whenOrphaned: (next) => {
      shutdown = next;
    },
  };
}

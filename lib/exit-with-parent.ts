/**
 * When a supervisor (`npm start`, the test runner) dies without stopping its children, the children notice that
 * they were re-parented and shut themselves down, so no orphan keeps a port or a task queue.
 */
export function exitWithParent(supervised: boolean, onOrphaned: () => void, intervalMs = 1_000): void {
  if (!supervised) return;
  const parentAtStart = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parentAtStart) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  timer.unref();
}

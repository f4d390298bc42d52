/**
 * When a supervisor (`npm start`, the test runner) dies without stopping its children, the children notice that
 * they were re-parented and shut themselves down, so no orphan keeps a port or a task queue.
 */
export function exitWithParent(onOrphaned: () => void, intervalMs = 1_000): void {
  if (process.env.WA_SUPERVISED !== '1') return;
  const parentAtStart = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parentAtStart) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  timer.unref();
}

/** How often a running host writes its report (workers/host-report.ts). */
export const HOST_REPORT_EVERY_MS = 5_000;
/** Reports a host may miss before it counts as silent: killed, frozen, or cut off from the database. */
const MISSED_REPORTS_BEFORE_SILENT = 3;

export type HostState = 'running' | 'draining' | 'stopped' | 'silent';

/** What an operator should read from a host's last report, at `now` (ms). */
export function hostState(
  report: { draining: boolean; stoppedAt: number | null; reportedAt: number },
  now: number,
): HostState {
  if (report.stoppedAt !== null) return 'stopped';
  if (now - report.reportedAt > HOST_REPORT_EVERY_MS * MISSED_REPORTS_BEFORE_SILENT) return 'silent';
  return report.draining ? 'draining' : 'running';
}

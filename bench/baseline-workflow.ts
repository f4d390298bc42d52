import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 1 },
});

/** The floor orchestration cannot beat: start a workflow, run one no-op activity, return. */
export async function baselineRoundTrip(): Promise<void> {
  await noop();
}

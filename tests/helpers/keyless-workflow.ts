import { proxyActivities } from '@temporalio/workflow';
import type { AccountStoreActivities } from '../../activities/index.js';

/**
 * What a stranger who reaches Temporal but holds no key can run on a worker of their own: a workflow that asks the
 * service's workers, on their task queue, to write an event into an account's row. Its argument goes out as plain
 * JSON.
 */
export async function keylessRowWrite(serviceTaskQueue: string, sessionId: string): Promise<void> {
  const { recordEvent } = proxyActivities<AccountStoreActivities>({
    taskQueue: serviceTaskQueue,
    startToCloseTimeout: '10 seconds',
    retry: { maximumAttempts: 1 },
  });
  await recordEvent({ sessionId, eventType: 'forged_by_a_stranger', data: {}, dedupeKey: `forged:${sessionId}` });
}

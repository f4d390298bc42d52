import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from '../lib/logger.js';
import { WEBHOOK_OUTBOX_DEFAULTS, webhookOutbox } from '../workflows/webhook-outbox.js';

/**
 * Makes sure the webhook outbox runs every minute, once for the whole fleet: a Temporal schedule, created by whichever
 * worker starts first and left as it is by the others.
 */
export async function ensureWebhookOutboxSchedule(client: Client, taskQueue: string, log: Logger): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: `webhook-outbox-${taskQueue}`,
      spec: { intervals: [{ every: '1 minute' }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      action: {
        type: 'startWorkflow',
        workflowType: webhookOutbox,
        taskQueue,
        args: [WEBHOOK_OUTBOX_DEFAULTS],
        workflowExecutionTimeout: '5 minutes',
      },
    });
    log.info({ taskQueue }, 'webhook outbox schedule created');
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}

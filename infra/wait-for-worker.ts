import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TemporalTls } from '../lib/temporal-tls.js';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/**
 * Waits until a worker polls `taskQueue` for workflow tasks: before that, started workflows would only queue up. With
 * `pid`, until that process polls (a worker's identity is `pid@host`): a queue lists other workers' polls too, and
 * those of a worker that stopped for minutes after, so a second worker or a restarted one would otherwise be taken as
 * polling before it has even started.
 */
export async function waitForWorkflowPoller(
  address: string,
  namespace: string,
  taskQueue: string,
  timeoutMs: number,
  options: { tls?: TemporalTls; pid?: number } = {},
): Promise<void> {
  const { tls, pid } = options;
  const connection = await Connection.connect({ address, ...(tls ? { tls } : {}) });
  const deadline = Date.now() + timeoutMs;
  const counts = (identity: string) => pid === undefined || identity.startsWith(`${pid}@`);
  try {
    while (Date.now() < deadline) {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((pollers ?? []).some((poller) => counts(poller.identity ?? ''))) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await connection.close();
  }
  throw new Error(
    `${pid === undefined ? 'no worker' : `worker ${pid}`} polled task queue ${taskQueue} within ${timeoutMs} ms`,
  );
}

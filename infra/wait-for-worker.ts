import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TemporalTls } from '../lib/temporal-tls.js';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/** Waits until some worker polls `taskQueue` for workflow tasks: before that, started workflows would only queue up. */
export async function waitForWorkflowPoller(
  address: string,
  namespace: string,
  taskQueue: string,
  timeoutMs: number,
  tls?: TemporalTls,
): Promise<void> {
  const connection = await Connection.connect({ address, ...(tls ? { tls } : {}) });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((pollers ?? []).length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await connection.close();
  }
  throw new Error(`no worker polled task queue ${taskQueue} within ${timeoutMs} ms`);
}

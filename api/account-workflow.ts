import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { accountWorkflowId } from '../workflows/ids.js';
import { withTemporalDeadline } from './dependency-outage.js';

/** An account's workflow as support reads it: its status, history length and the activities it waits on. */
export async function describeAccountWorkflow(
  temporal: Client,
  workspaceId: string,
  sessionId: string,
): Promise<Record<string, unknown>> {
  try {
    const description = await withTemporalDeadline(temporal, () =>
      temporal.workflow.getHandle(accountWorkflowId(workspaceId, sessionId)).describe(),
    );
    const raw = description.raw;
    return {
      workflowId: description.workflowId,
      runId: description.runId,
      status: description.status.name,
      startTime: description.startTime.toISOString(),
      historyLength: description.historyLength,
      pendingActivities: (raw.pendingActivities ?? []).map((activity) => ({
        activityType: activity.activityType?.name ?? null,
        state: activity.state,
        attempt: activity.attempt,
        lastFailure: activity.lastFailure?.message ?? null,
        lastHeartbeatTime: activity.lastHeartbeatTime?.seconds
          ? new Date(Number(activity.lastHeartbeatTime.seconds) * 1000).toISOString()
          : null,
      })),
    };
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    return { status: 'NOT_FOUND' };
  }
}

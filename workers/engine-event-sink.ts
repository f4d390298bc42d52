import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SessionEventSink } from '../engine/session-host.js';
import { workflowIdOfSessionKey } from '../workflows/ids.js';
import { engineEventSignal, hostGoneSignal, signalAccount } from '../workflows/messages.js';

const MAX_ATTEMPTS = 30;

/**
 * The engine's events reach the account workflow that owns the session (the sink's owner is its workflow id) as
 * signals, retried with backoff while Temporal is unreachable. A workflow that is over wants the session no more.
 */
export function signalAccountWorkflow(temporal: Client): SessionEventSink {
  return async (workflowId, sessionEvent) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await signalAccount(temporal.workflow.getHandle(workflowId), engineEventSignal, sessionEvent);
        return 'delivered';
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return 'unwanted';
        if (attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  };
}

/** Tells a session's workflow that the host running it let its lease lapse; nothing when the account has ended. */
export function signalHostGone(temporal: Client): (key: string, host: string) => Promise<void> {
  return async (key, host) => {
    try {
      await signalAccount(temporal.workflow.getHandle(workflowIdOfSessionKey(key)), hostGoneSignal, {
        hostTaskQueue: host,
      });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  };
}

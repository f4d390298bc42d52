import { sessionKey } from '../domain/session-key.js';

/** One workflow per account, its id derived from the session key so a second start of the same session is refused. */
export function accountWorkflowId(workspaceId: string, sessionId: string): string {
  return workflowIdOfSessionKey(sessionKey(workspaceId, sessionId));
}

/** The account's workflow, for what knows the session only by its key (the engine, a host). */
export function workflowIdOfSessionKey(key: string): string {
  return `account-${key}`;
}

/**
 * Where accounts ask for a host: a queue of its own beside the shared one, polled by each host only while it has a
 * free seat (workers/host-capacity.ts).
 */
export function placementTaskQueue(sharedTaskQueue: string): string {
  return `${sharedTaskQueue}-placement`;
}

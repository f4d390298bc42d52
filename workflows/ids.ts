/** One workflow per account, its id derived from the session id so a second start of the same session is refused. */
export function accountWorkflowId(sessionId: string): string {
  return `account-${sessionId}`;
}

/**
 * Where accounts ask for a host: a queue of its own beside the shared one, polled by each host only while it has a
 * free seat (workers/host-capacity.ts).
 */
export function placementTaskQueue(sharedTaskQueue: string): string {
  return `${sharedTaskQueue}-placement`;
}

/**
 * A session id is the workspace's own name for an account, so two workspaces may both use it. Whatever runs or stores
 * a session across workspaces (its workflow, the engine, host leases, stored logins, simulator actions, data dirs)
 * uses this key instead. The dot is in neither the workspace's nor the session id's alphabet
 * ([A-Za-z0-9_-]), so the key names exactly one (workspace, session id) pair.
 */
export function sessionKey(workspaceId: string, sessionId: string): string {
  return `${workspaceId}.${sessionId}`;
}

/** The (workspace, session id) pair a key names; a key without a dot names no account. */
export function splitSessionKey(key: string): { workspaceId: string; sessionId: string } {
  const dot = key.indexOf('.');
  return dot < 0
    ? { workspaceId: '', sessionId: key }
    : { workspaceId: key.slice(0, dot), sessionId: key.slice(dot + 1) };
}

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

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

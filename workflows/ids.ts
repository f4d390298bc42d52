/** One workflow per account, its id derived from the session id so a second start of the same session is refused. */
export function accountWorkflowId(sessionId: string): string {
  return `account-${sessionId}`;
}

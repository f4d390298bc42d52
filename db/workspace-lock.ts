import { sql, type DatabaseTransactionConnection } from 'slonik';

/**
 * Every transaction that appends an account event or touches other rows of the workspace takes this lock first.
 * It serializes concurrent activations (so nobody meets a unique-constraint error), and it makes a workspace's event
 * ids commit in increasing order, so a reader that resumes "after event N" can never miss one that commits late.
 */
export async function lockWorkspace(tx: DatabaseTransactionConnection, workspaceId: string): Promise<void> {
  await tx.query(sql.unsafe`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey(workspaceId)}, 0))`);
}

/**
 * The workspace's lock, taken only when it holds this account, in one statement (a change to an account is most of
 * what the service writes). False when there is no such account, and then no lock is taken.
 */
export async function lockWorkspaceOfAccount(
  tx: DatabaseTransactionConnection,
  workspaceId: string,
  sessionId: string,
): Promise<boolean> {
  const locked = await tx.query(sql.unsafe`
    SELECT pg_advisory_xact_lock(hashtextextended(${lockKey(workspaceId)}, 0))
    FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
  `);
  return locked.rowCount > 0;
}

function lockKey(workspaceId: string): string {
  return `wa-workspace:${workspaceId}`;
}

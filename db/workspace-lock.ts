import { sql, type DatabaseTransactionConnection } from 'slonik';

/**
 * Every transaction that appends an account event or touches other rows of the workspace takes this lock first.
 * It serializes concurrent activations (so nobody meets a unique-constraint error), and it makes a workspace's event
 * ids commit in increasing order, so a reader that resumes "after event N" can never miss one that commits late.
 */
export async function lockWorkspace(tx: DatabaseTransactionConnection, workspaceId: string): Promise<void> {
  await tx.query(sql.unsafe`SELECT pg_advisory_xact_lock(hashtextextended(${`wa-workspace:${workspaceId}`}, 0))`);
}

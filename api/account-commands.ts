import { WorkflowNotFoundError } from '@temporalio/client';
import { endAccount } from '../db/account-lifecycle.js';
import type { AccountRow } from '../db/accounts.js';
import { accountWorkflowId } from '../workflows/ids.js';
import { sessionKey } from '../domain/session-key.js';
import { deleteAccountSignal, signalAccount } from '../workflows/messages.js';
import { withTemporalDeadline } from './dependency-outage.js';
import type { WorkspaceServices } from './workspace-services.js';

/**
 * Deletes an account, whichever API asks (/v1 or the legacy session API): its workflow logs out, stops the client, forgets the
 * login and soft-deletes the row. A workflow that is already over (failed, logged out) writes nothing any more, so
 * the row is soft-deleted here, with its event and webhooks, and any saved login removed.
 */
export async function deleteAccount(deps: WorkspaceServices, row: AccountRow): Promise<void> {
  try {
    await withTemporalDeadline(deps.temporal, () =>
      signalAccount(
        deps.temporal.workflow.getHandle(accountWorkflowId(row.workspace_id, row.session_id)),
        deleteAccountSignal,
      ),
    );
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    const key = sessionKey(row.workspace_id, row.session_id);
    await endAccount(deps.pool, {
      sessionId: key,
      status: 'failed',
      reason: 'deleted',
      eventType: 'session_deleted',
      softDelete: true,
      forgetLogin: true,
      // The row's own id: session ids repeat across workspaces, and a dedupe key is unique across all of them.
      dedupeKey: `api-delete:${row.id}`,
    });
  }
}

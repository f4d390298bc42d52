import type { Keyring } from '../lib/keyring.js';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { endAccount } from '../db/account-lifecycle.js';
import type { AccountRow } from '../db/accounts.js';
import { deleteEngineAuth } from '../db/engine-auth.js';
import type { WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import { accountWorkflowId } from '../workflows/ids.js';
import { sessionKey } from '../domain/session-key.js';
import { deleteAccountSignal, signalAccount } from '../workflows/messages.js';
import type { AccountCreationGate } from './account-creation-rate.js';
import { withTemporalDeadline } from './dependency-outage.js';
import { startWebhookDeliveries } from './webhook-starter.js';

export interface AccountCommandDeps {
  pool: DatabasePool;
  temporal: Client;
  taskQueue: string;
  webhookPolicy: WebhookNetworkPolicy;
  /** Live accounts a workspace may keep unless an operator set its own limit. */
  liveAccountLimit: number;
  /** Every route that creates an account calls it first. */
  accountCreationGate: AccountCreationGate;
  /** The WhatsApp Web build the service pins for every account that pins none (WA_WEB_VERSION), or null. */
  serviceWebVersion: string | null;
  /** Opens and seals the workspace's webhook signing secrets. */
  keyring: Keyring;
}

/**
 * Deletes an account, whichever API asks (/v1 or the legacy session API): its workflow logs out, stops the client, forgets the
 * login and soft-deletes the row. A workflow that is already over (failed, logged out) writes nothing any more, so
 * the row is soft-deleted here, with its event and webhooks, and any saved login removed.
 */
export async function deleteAccount(deps: AccountCommandDeps, row: AccountRow): Promise<void> {
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
    const ending = await endAccount(deps.pool, {
      sessionId: key,
      status: 'failed',
      reason: 'deleted',
      eventType: 'session_deleted',
      softDelete: true,
      dedupeKey: `api-delete:${row.session_id}`,
    });
    await deleteEngineAuth(deps.pool, key);
    await startWebhookDeliveries(deps.pool, deps.temporal, deps.taskQueue, ending.eventIds);
  }
}

import { accountHasEnded } from '../domain/account-endings.js';
import type { StoredProxy } from '../db/proxy-settings.js';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import {
  AccountConflictError,
  AccountLimitReached,
  discardUnstartedAccount,
  insertAccount,
  type AccountRow,
} from '../db/accounts.js';
import { accountConnection } from '../workflows/account-connection.js';
import { accountWorkflowId } from '../workflows/ids.js';
import { workspaceIdKey } from '../workflows/search-attributes.js';
import { withTemporalDeadline } from './dependency-outage.js';
import { accountLimitProblem, HttpProblem, problem } from './problem.js';

export interface CreateAccountRequest {
  workspaceId: string;
  sessionId: string;
  taskQueue: string;
  pairingPhoneNumber?: string | null;
  metadata?: Record<string, unknown>;
  webhookUrl?: string | null;
  /** What it announces to the phone; null: the workspace's default. */
  deviceName?: string | null;
  browserName?: string | null;
  /** Its own proxy, credentials sealed; absent: the workspace's default. */
  proxy?: StoredProxy;
  /**
   * The service made the session id up: the caller never learns it, so it cannot retry, and a row whose workflow did
   * not start would wait forever. Such a row is removed when the start fails.
   */
  sessionIdGenerated?: boolean;
  /** Live accounts the workspace may keep when it has no limit of its own; absent: no limit. */
  defaultLiveAccountLimit?: number;
  /** Spends the caller's creation budget, only when a new row is inserted (a repeat spends nothing). */
  takeCreation?: () => () => void;
}

/**
 * Inserts the row and starts its workflow. Both steps are idempotent, so the same request twice gives the same
 * account, and a request that died between the two steps is completed by its retry.
 */
export async function createAccount(
  pool: DatabasePool,
  temporal: Client,
  request: CreateAccountRequest,
): Promise<{ row: AccountRow; created: boolean }> {
  const { row, created } = await insertAccount(
    pool,
    {
      workspaceId: request.workspaceId,
      sessionId: request.sessionId,
      metadata: request.metadata ?? {},
      webhookUrl: request.webhookUrl ?? null,
      deviceName: request.deviceName ?? null,
      browserName: request.browserName ?? null,
      ...(request.proxy ? { proxy: request.proxy } : {}),
    },
    request.defaultLiveAccountLimit ?? null,
    request.takeCreation,
  );
  // An account that ended (deleted, failed, logged out) stays ended, also once Temporal no longer remembers its
  // workflow, and also when an operator terminated that workflow after it had written the ending.
  const ended = accountHasEnded({
    deleted: row.deleted_at !== null,
    status: row.status,
    failureReason: row.failure_reason,
  });
  if (ended) return { row, created };
  try {
    await withTemporalDeadline(temporal, () =>
      temporal.workflow.start(accountConnection, {
        taskQueue: request.taskQueue,
        workflowId: accountWorkflowId(request.workspaceId, request.sessionId),
        // A create repeated after the account's workflow ended answers with the row and starts nothing: the account
        // ended (logged out, failed, deleted). One whose workflow an operator terminated or cancelled in the Web UI
        // starts again: the new run names its row writes by itself, believes only its own clients' events, has the
        // old run's client stopped wherever it runs, and resumes from the saved login.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        args: [
          {
            sessionId: request.sessionId,
            workspaceId: request.workspaceId,
            pairingPhoneNumber: request.pairingPhoneNumber ?? null,
          },
        ],
        typedSearchAttributes: [{ key: workspaceIdKey, value: request.workspaceId }],
      }),
    );
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
      if (created && request.sessionIdGenerated) await discardUnstartedAccount(pool, row.id);
      throw error;
    }
  }
  return { row, created };
}

/** What a refused create answers, whichever route asked (/v1 or the legacy session API); any other error passes unchanged. */
export function createRefusal(error: unknown): unknown {
  if (error instanceof AccountLimitReached) return accountLimitProblem(error);
  if (error instanceof AccountConflictError) {
    return new HttpProblem(
      problem(409, 'account_create_conflict', 'Conflict', 'the account changed while it was being created; retry'),
    );
  }
  return error;
}

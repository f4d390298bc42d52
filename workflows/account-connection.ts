import {
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SharedActivities } from '../activities/index.js';
import { canMoveTo, type AccountStatus } from '../domain/account-status.js';
import { accountStatusKey, workspaceIdKey } from './search-attributes.js';

export interface AccountConnectionInput {
  sessionId: string;
  workspaceId: string;
  /** How long a QR may go unscanned before the account fails with `qr_expired`. */
  qrExpiryMs?: number;
}

export interface AccountConnectionState {
  sessionId: string;
  workspaceId: string;
  status: AccountStatus;
  failureReason: string | null;
  hostTaskQueue: string | null;
  /** Counts every recorded change; it names each change uniquely so a retried write is applied once. */
  changeCount: number;
}

export const deleteAccountSignal = defineSignal<[{ reason?: string }]>('deleteAccount');
export const accountStateQuery = defineQuery<AccountConnectionState>('accountState');

export const DEFAULT_QR_EXPIRY_MS = 5 * 60_000;

// Database writes: each attempt is short, but retries go on for long enough to ride out a PostgreSQL restart.
const store = proxyActivities<SharedActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** One durable workflow per WhatsApp account: the only writer of that account's status. */
export async function accountConnection(input: AccountConnectionInput): Promise<AccountConnectionState> {
  const state: AccountConnectionState = {
    sessionId: input.sessionId,
    workspaceId: input.workspaceId,
    status: 'qr_scanning',
    failureReason: null,
    hostTaskQueue: null,
    changeCount: 0,
  };
  let deleteRequested = false;
  setHandler(accountStateQuery, () => state);
  setHandler(deleteAccountSignal, () => {
    deleteRequested = true;
  });

  const moveTo = async (status: AccountStatus, eventType: string, reason: string | null = null) => {
    if (!canMoveTo(state.status, status)) return;
    state.changeCount += 1;
    await store.recordStatus({
      sessionId: state.sessionId,
      status,
      eventType,
      reason,
      dedupeKey: `${workflowInfo().workflowId}:${state.changeCount}`,
    });
    state.status = status;
    state.failureReason = reason;
    upsertSearchAttributes([{ key: accountStatusKey, value: status }]);
  };

  upsertSearchAttributes([
    { key: workspaceIdKey, value: input.workspaceId },
    { key: accountStatusKey, value: state.status },
  ]);
  await moveTo('qr_scanning', 'session_created');
  state.hostTaskQueue = (await store.claimHost()).taskQueue;

  const deletedInTime = await condition(() => deleteRequested, input.qrExpiryMs ?? DEFAULT_QR_EXPIRY_MS);
  await moveTo('failed', deletedInTime ? 'session_deleted' : 'qr_expired', deletedInTime ? 'deleted' : 'qr_expired');
  return state;
}

import type { AccountRow } from '../db/accounts.js';
import { ACCOUNT_STATUSES } from '../domain/account-status.js';
import { describeAccount, WAIT_KINDS, type AccountWait } from '../domain/account-wait.js';

/** What the API says about an account: the row as backends read it, in camelCase, times as ISO 8601. */
export interface AccountView {
  sessionId: string;
  workspaceId: string;
  status: string;
  phoneNumber: string | null;
  pushName: string | null;
  isPrimary: boolean;
  failureReason: string | null;
  /** What the account is doing or waiting for, in words a support person can act on. */
  detail: string;
  /** The same wait for programs: what, which attempt, why the last failed, when the next is due. */
  wait: WaitView | null;
  /** Since when the account is in its status. */
  statusChangedAt: string;
  qr: { value: string; generatedAt: string } | null;
  pairingCode: { value: string; generatedAt: string } | null;
  metadata: Record<string, unknown>;
  lastConnectedAt: string | null;
  /** When its session last answered its host's check that it is connected (a dead session stops moving this). */
  lastSeenAt: string | null;
  /** The WhatsApp Web build its session runs, as last seen. */
  webVersion: string | null;
  /** The build this account pins (PUT .../web-version), applied at its next start; null: the service's choice. */
  webVersionPin: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

interface WaitView {
  kind: AccountWait['kind'];
  since: string | null;
  attempt: number | null;
  maxAttempts: number | null;
  reason: string | null;
  nextTryAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toWaitView(wait: AccountWait): WaitView {
  switch (wait.kind) {
    case 'host':
      return {
        kind: wait.kind,
        since: iso(wait.since),
        attempt: null,
        maxAttempts: null,
        reason: null,
        nextTryAt: null,
      };
    case 'engine_starting':
      return {
        kind: wait.kind,
        since: iso(wait.since),
        attempt: wait.attempt,
        maxAttempts: wait.maxAttempts,
        reason: wait.lastFailure,
        nextTryAt: null,
      };
    case 'engine_retry':
      return {
        kind: wait.kind,
        since: null,
        attempt: wait.attempt,
        maxAttempts: wait.maxAttempts,
        reason: wait.reason,
        nextTryAt: iso(wait.nextTryAt),
      };
  }
}

export function toAccountView(row: AccountRow, now = Date.now()): AccountView {
  // A QR is useful only while the account waits for a scan; afterwards it is history, not something to show.
  const linking = row.status === 'qr_scanning' && row.deleted_at === null;
  const detail = describeAccount(
    {
      status: row.status,
      lastSeenAt: row.last_seen_at,
      failureReason: row.failure_reason,
      wait: row.wait,
      showsQr: linking && row.last_qr !== null,
      showsPairingCode: linking && row.pairing_code !== null,
      deleted: row.deleted_at !== null,
    },
    now,
  );
  return {
    sessionId: row.session_id,
    workspaceId: row.workspace_id,
    status: row.status,
    phoneNumber: row.phone_number,
    pushName: row.push_name,
    isPrimary: row.is_primary,
    failureReason: row.failure_reason,
    detail,
    wait: row.wait && row.deleted_at === null ? toWaitView(row.wait) : null,
    statusChangedAt: iso(row.status_changed_at) as string,
    qr:
      linking && row.last_qr && row.last_qr_at
        ? { value: row.last_qr, generatedAt: iso(row.last_qr_at) as string }
        : null,
    pairingCode:
      linking && row.pairing_code && row.pairing_code_at
        ? { value: row.pairing_code, generatedAt: iso(row.pairing_code_at) as string }
        : null,
    metadata: row.metadata,
    lastConnectedAt: iso(row.last_connected_at),
    lastSeenAt: iso(row.last_seen_at),
    webVersion: row.web_version,
    webVersionPin: row.web_version_pin,
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
    deletedAt: iso(row.deleted_at),
  };
}

const stamped = {
  type: ['object', 'null'],
  required: ['value', 'generatedAt'],
  properties: { value: { type: 'string' }, generatedAt: { type: 'string', format: 'date-time' } },
  additionalProperties: false,
} as const;

export const accountViewSchema = {
  $id: 'Account',
  type: 'object',
  required: [
    'sessionId',
    'workspaceId',
    'status',
    'phoneNumber',
    'pushName',
    'isPrimary',
    'failureReason',
    'detail',
    'wait',
    'statusChangedAt',
    'qr',
    'pairingCode',
    'metadata',
    'lastConnectedAt',
    'lastSeenAt',
    'webVersion',
    'webVersionPin',
    'createdAt',
    'updatedAt',
    'deletedAt',
  ],
  properties: {
    sessionId: { type: 'string' },
    workspaceId: { type: 'string' },
    status: { type: 'string', enum: [...ACCOUNT_STATUSES] },
    phoneNumber: { type: ['string', 'null'] },
    pushName: { type: ['string', 'null'] },
    isPrimary: { type: 'boolean' },
    failureReason: { type: ['string', 'null'] },
    detail: { type: 'string' },
    wait: {
      type: ['object', 'null'],
      required: ['kind', 'since', 'attempt', 'maxAttempts', 'reason', 'nextTryAt'],
      properties: {
        kind: { type: 'string', enum: [...WAIT_KINDS] },
        since: { type: ['string', 'null'], format: 'date-time' },
        attempt: { type: ['integer', 'null'] },
        maxAttempts: { type: ['integer', 'null'] },
        reason: { type: ['string', 'null'] },
        nextTryAt: { type: ['string', 'null'], format: 'date-time' },
      },
      additionalProperties: false,
    },
    statusChangedAt: { type: 'string', format: 'date-time' },
    qr: stamped,
    pairingCode: stamped,
    metadata: { type: 'object', additionalProperties: true },
    lastConnectedAt: { type: ['string', 'null'], format: 'date-time' },
    lastSeenAt: { type: ['string', 'null'], format: 'date-time' },
    webVersion: { type: ['string', 'null'] },
    webVersionPin: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    deletedAt: { type: ['string', 'null'], format: 'date-time' },
  },
  additionalProperties: false,
} as const;

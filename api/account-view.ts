import type { AccountRow } from '../db/accounts.js';
import { ACCOUNT_STATUSES } from '../domain/account-status.js';

/** What the API says about an account: the row as backends read it, in camelCase, times as ISO 8601. */
export interface AccountView {
  sessionId: string;
  workspaceId: string;
  status: string;
  phoneNumber: string | null;
  pushName: string | null;
  isPrimary: boolean;
  failureReason: string | null;
  qr: { value: string; generatedAt: string } | null;
  pairingCode: { value: string; generatedAt: string } | null;
  metadata: Record<string, unknown>;
  lastConnectedAt: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toAccountView(row: AccountRow): AccountView {
  // A QR is useful only while the account waits for a scan; afterwards it is history, not something to show.
  const linking = row.status === 'qr_scanning' && row.deleted_at === null;
  return {
    sessionId: row.session_id,
    workspaceId: row.workspace_id,
    status: row.status,
    phoneNumber: row.phone_number,
    pushName: row.push_name,
    isPrimary: row.is_primary,
    failureReason: row.failure_reason,
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
    'qr',
    'pairingCode',
    'metadata',
    'lastConnectedAt',
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
    qr: stamped,
    pairingCode: stamped,
    metadata: { type: 'object', additionalProperties: true },
    lastConnectedAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    deletedAt: { type: ['string', 'null'], format: 'date-time' },
  },
  additionalProperties: false,
} as const;

import { Type, type Static } from 'typebox';
import type { AccountRow } from '../db/accounts.js';
import { ACCOUNT_STATUSES } from '../domain/account-status.js';
import { describeAccount, WAIT_KINDS, type AccountWait } from '../domain/account-wait.js';
import { proxyView } from '../db/proxy-settings.js';
import { ProxyViewSchema, toProxyView } from './proxy-setting.js';
import { Nullable, OpenObject, Ref, StringEnum } from './schemas.js';

/** A login code as shown, and when WhatsApp gave it. */
const ShownCode = Type.Object(
  { value: Type.String(), generatedAt: Type.String({ format: 'date-time' }) },
  { additionalProperties: false },
);

/** What the account waits for, for programs: what, which attempt, why the last failed, when the next is due. */
const WaitView = Type.Object(
  {
    kind: StringEnum(WAIT_KINDS),
    since: Nullable(Type.String({ format: 'date-time' })),
    attempt: Nullable(Type.Integer()),
    maxAttempts: Nullable(Type.Integer()),
    reason: Nullable(Type.String()),
    nextTryAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
type WaitView = Static<typeof WaitView>;

/**
 * What the API says about an account: the row as backends read it, in camelCase, times as ISO 8601. One definition
 * gives the JSON schema responses are checked and serialized with, the OpenAPI entry `Account`, and the type.
 */
export const AccountView = Type.Object(
  {
    sessionId: Type.String(),
    workspaceId: Type.String(),
    status: StringEnum(ACCOUNT_STATUSES),
    phoneNumber: Nullable(Type.String()),
    pushName: Nullable(Type.String()),
    /** Who logged in, as its session reported it after `ready`; null until it first connected. */
    me: Nullable(
      Type.Object(
        {
          whatsappId: Type.String({ description: '<phone number>@c.us' }),
          lid: Nullable(Type.String({ description: 'The internal id newer accounts also carry, <digits>@lid' })),
          pushName: Nullable(Type.String()),
          platform: Nullable(Type.String({ description: 'android, iphone, smba (Business on Android), …' })),
          profilePicture: Nullable(
            Type.String({
              description:
                'Where the API serves its profile picture (fetched by its session, never a link into WhatsApp); null: none',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    isPrimary: Type.Boolean(),
    failureReason: Nullable(Type.String()),
    /** What the account is doing or waiting for, in words a support person can act on. */
    detail: Type.String(),
    wait: Nullable(WaitView),
    /** Since when the account is in its status. */
    statusChangedAt: Type.String({ format: 'date-time' }),
    qr: Nullable(ShownCode),
    pairingCode: Nullable(ShownCode),
    metadata: OpenObject(),
    lastConnectedAt: Nullable(Type.String({ format: 'date-time' })),
    /** When its session last answered its host's check that it is connected (a dead session stops moving this). */
    lastSeenAt: Nullable(Type.String({ format: 'date-time' })),
    /** The WhatsApp Web build its session runs, as last seen. */
    webVersion: Nullable(Type.String()),
    /** The build this account pins (PUT .../web-version), applied at its next start; null: the service's choice. */
    webVersionPin: Nullable(Type.String()),
    /** What it announces to the phone (PUT .../linked-device); null: the workspace's default, else WhatsApp Web's. */
    linkedDevice: Type.Object(
      { deviceName: Nullable(Type.String()), browserName: Nullable(Type.String()) },
      { additionalProperties: false },
    ),
    /** Its own proxy (PUT .../proxy), applied at its next start; null: the workspace's default, if it has one. */
    proxy: Nullable(ProxyViewSchema),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    deletedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'Account', additionalProperties: false },
);
export type AccountView = Static<typeof AccountView>;

/** The account in a route's response: a reference to the one registered schema, so OpenAPI names it once. */
export const AccountViewRef = Ref(AccountView);

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
    me:
      row.phone_number === null
        ? null
        : {
            whatsappId: `${row.phone_number}@c.us`,
            lid: row.whatsapp_lid,
            pushName: row.push_name,
            platform: row.whatsapp_platform,
            profilePicture:
              row.profile_picture_at === null
                ? null
                : `/v1/workspaces/${row.workspace_id}/accounts/${row.session_id}/profile-picture`,
          },
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
    linkedDevice: { deviceName: row.device_name, browserName: row.browser_name },
    proxy: toProxyView(proxyView(row)),
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
    deletedAt: iso(row.deleted_at),
  };
}

import type { AccountEventType } from '../domain/account-event-types.js';
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import type { AccountStatus } from '../domain/account-status.js';
import { appendAccountEvent, appliedChange, forgetLoginCodes } from './account-events.js';
import { AccountConflictError, accountRowSchema, lockAccount, type AccountRow } from './account-row.js';
import { deleteEngineAuth } from './engine-auth.js';
import { endOnboardingLinksOf } from './onboarding-links.js';
import { markCanaryStartWorking } from './web-build-canaries.js';
import { sessionKey } from '../domain/session-key.js';

/**
 * Activation, ending and primary changes: the changes that touch other rows of the workspace (the same phone
 * elsewhere, the primary flag). Each takes the workspace's advisory lock first (see workspace-lock.ts).
 */

/** Appends an event of this change; the row it is about may be another account of the workspace. */
function appendEvent(
  tx: DatabaseTransactionConnection,
  row: AccountRow,
  type: AccountEventType,
  status: AccountStatus | null,
  data: Record<string, unknown>,
  dedupeKey: string | null,
): Promise<number> {
  return appendAccountEvent(tx, row, { type, status, data, dedupeKey });
}

export interface Activation {
  sessionId: string;
  phoneNumber: string;
  pushName: string | null;
  /** The account's `@lid` id, when its session reports one. */
  lid?: string | null;
  /** What the phone runs, as its session reports it. */
  platform?: string | null;
  dedupeKey: string;
  /** Measured by the workflow (scanToConnectedMs, phoneExtractionMs); kept in the session_ready event. */
  timings?: Record<string, number>;
}

export interface ActivationResult {
  applied: boolean;
  row: AccountRow;
  /** Older accounts of the workspace that held this phone: now failed, phone released, soft-deleted, login removed. */
  releasedSessionIds: string[];
  eventIds: number[];
}

/**
 * In one transaction: release the phone from this workspace's other live rows, mark this row connected with its
 * phone, and make it primary when the workspace has no primary. A retry with the same dedupe key changes nothing.
 */
export async function activateAccount(pool: DatabasePool, activation: Activation): Promise<ActivationResult> {
  return pool.transaction(async (tx) => {
    const row = await lockAccount(tx, activation.sessionId);
    const earlier = await appliedChange(tx, activation.dedupeKey, row.workspace_id);
    if (earlier) {
      return { applied: false, row, releasedSessionIds: earlier.replacedSessionIds, eventIds: earlier.eventIds };
    }
    if (row.deleted_at !== null || row.status === 'failed') {
      // Superseded or deleted meanwhile: it must not come back to life.
      return { applied: false, row, releasedSessionIds: [], eventIds: [] };
    }

    await forgetLoginCodes(tx, row);
    const released = await tx.any(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts
      SET phone_number = NULL, status = 'failed', is_primary = false, deleted_at = now(),
          failure_reason = ${`phone_moved_to_session:${row.session_id}`}
      WHERE workspace_id = ${row.workspace_id} AND phone_number = ${activation.phoneNumber}
        AND id <> ${row.id} AND deleted_at IS NULL
      RETURNING *
    `);
    await endOnboardingLinksOf(
      tx,
      released.map((old) => old.id),
      'account_ended',
    );
    const eventIds: number[] = [];
    for (const old of released) {
      // The phone is linked to this session now: the old session's login would only log the phone out again.
      await deleteEngineAuth(tx, sessionKey(old.workspace_id, old.session_id));
      eventIds.push(
        await appendEvent(
          tx,
          old,
          'account_replaced',
          'failed',
          { reason: old.failure_reason, replacedBySessionId: row.session_id, causedBy: activation.dedupeKey },
          null,
        ),
      );
    }

    const updated = await tx.one(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts
      SET status = 'connected', phone_number = ${activation.phoneNumber}, push_name = ${activation.pushName},
          whatsapp_lid = ${activation.lid ?? null}, whatsapp_platform = ${activation.platform ?? null},
          last_connected_at = now(), failure_reason = NULL,
          is_primary = is_primary OR NOT EXISTS (
            SELECT 1 FROM whatsapp_accounts other
            WHERE other.workspace_id = ${row.workspace_id} AND other.is_primary AND other.id <> ${row.id}
          )
      WHERE id = ${row.id}
      RETURNING *
    `);
    await endOnboardingLinksOf(tx, [row.id], 'connected');
    await markCanaryStartWorking(tx, row.id);
    eventIds.push(
      await appendEvent(
        tx,
        updated,
        'session_ready',
        'connected',
        {
          phoneNumber: updated.phone_number,
          pushName: updated.push_name,
          whatsappId: `${activation.phoneNumber}@c.us`,
          lid: updated.whatsapp_lid,
          platform: updated.whatsapp_platform,
          isPrimary: updated.is_primary,
          ...(activation.timings ?? {}),
          ...(released.length ? { replacedSessionIds: released.map((old) => old.session_id) } : {}),
        },
        activation.dedupeKey,
      ),
    );
    return { applied: true, row: updated, releasedSessionIds: released.map((old) => old.session_id), eventIds };
  });
}

export interface Ending {
  sessionId: string;
  status: 'disconnected' | 'failed';
  reason: string;
  eventType: AccountEventType;
  /** Delete: the row is soft-deleted too. */
  softDelete: boolean;
  /** The saved login is worthless (logout, ban, delete): removed in the same transaction as the ending. */
  forgetLogin: boolean;
  dedupeKey: string;
}

export interface EndingResult {
  applied: boolean;
  row: AccountRow;
  eventIds: number[];
}

/**
 * Ends an account for good (logout, ban, failure, delete), and in the same transaction hands the primary flag to the
 * oldest other connected account of the workspace.
 */
export async function endAccount(pool: DatabasePool, ending: Ending): Promise<EndingResult> {
  return pool.transaction(async (tx) => {
    const row = await lockAccount(tx, ending.sessionId);
    const earlier = await appliedChange(tx, ending.dedupeKey, row.workspace_id);
    if (earlier) return { applied: false, row, eventIds: earlier.eventIds };
    // A second delete (a retried request, a double click, the API's after the workflow's) finds the account gone:
    // a second deletion event would reach webhooks under an event id of its own, which no receiver can dedupe.
    if (ending.softDelete && row.deleted_at !== null) return { applied: false, row, eventIds: [] };

    await forgetLoginCodes(tx, row);
    if (ending.forgetLogin) await deleteEngineAuth(tx, ending.sessionId);
    const wasPrimary = row.is_primary;
    const updated = await tx.one(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts
      SET status = CASE WHEN status = 'failed' THEN status ELSE ${ending.status} END,
          failure_reason = CASE WHEN status = 'failed' THEN failure_reason ELSE ${ending.reason} END,
          is_primary = false,
          deleted_at = CASE WHEN ${ending.softDelete} THEN COALESCE(deleted_at, now()) ELSE deleted_at END
      WHERE id = ${row.id}
      RETURNING *
    `);
    await endOnboardingLinksOf(tx, [row.id], 'account_ended');
    const eventIds = [
      await appendEvent(tx, updated, ending.eventType, updated.status, { reason: ending.reason }, ending.dedupeKey),
    ];

    if (wasPrimary) {
      const successor = await tx.maybeOne(sql.type(accountRowSchema)`
        UPDATE whatsapp_accounts SET is_primary = true
        WHERE id = (
          SELECT id FROM whatsapp_accounts
          WHERE workspace_id = ${row.workspace_id} AND status = 'connected' AND deleted_at IS NULL AND id <> ${row.id}
          ORDER BY created_at, id LIMIT 1
        )
        RETURNING *
      `);
      if (successor) {
        eventIds.push(
          await appendEvent(
            tx,
            successor,
            'primary_changed',
            successor.status,
            { isPrimary: true, previousPrimarySessionId: row.session_id, causedBy: ending.dedupeKey },
            null,
          ),
        );
      }
    }
    return { applied: true, row: updated, eventIds };
  });
}

export interface PrimaryChange {
  applied: boolean;
  row: AccountRow;
  eventIds: number[];
}

/** Makes a connected account the workspace's primary, taking the flag from the current one in the same transaction. */
export async function makePrimary(pool: DatabasePool, key: string): Promise<PrimaryChange> {
  return pool.transaction(async (tx) => {
    const row = await lockAccount(tx, key);
    if (row.is_primary) return { applied: false, row, eventIds: [] };
    if (row.status !== 'connected' || row.deleted_at !== null)
      throw new AccountConflictError(`only a connected account can be primary; this one is ${row.status}`);
    const previous = await tx.maybeOne(sql.type(accountRowSchema)`
      UPDATE whatsapp_accounts SET is_primary = false WHERE workspace_id = ${row.workspace_id} AND is_primary RETURNING *
    `);
    const updated = await tx.one(
      sql.type(accountRowSchema)`UPDATE whatsapp_accounts SET is_primary = true WHERE id = ${row.id} RETURNING *`,
    );
    const eventIds: number[] = [];
    if (previous)
      eventIds.push(
        await appendEvent(
          tx,
          previous,
          'primary_changed',
          previous.status,
          { isPrimary: false, newPrimarySessionId: row.session_id },
          null,
        ),
      );
    eventIds.push(
      await appendEvent(
        tx,
        updated,
        'primary_changed',
        updated.status,
        { isPrimary: true, previousPrimarySessionId: previous?.session_id ?? null },
        null,
      ),
    );
    return { applied: true, row: updated, eventIds };
  });
}

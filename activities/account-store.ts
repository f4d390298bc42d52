import type { AccountWait } from '../domain/account-wait.js';
import type { DatabasePool } from 'slonik';
import { activateAccount, endAccount, type Activation, type Ending } from '../db/account-lifecycle.js';
import {
  recordAccountEvent,
  recordLoginCode,
  recordStatusChange,
  type AccountRow,
  type StatusChange,
} from '../db/accounts.js';
import { accountEventType, type AccountEventType } from '../domain/account-event-types.js';
import type { AccountStatus } from '../domain/account-status.js';

/** An activity's input arrives as JSON from the workflow's history: the store checks each event type against the list. */
type FromWorkflow<T extends { eventType: AccountEventType }> = Omit<T, 'eventType'> & { eventType: string };

export interface AccountSnapshot {
  applied: boolean;
  status: AccountStatus;
  isPrimary: boolean;
  phoneNumber: string | null;
  deleted: boolean;
}

/**
 * Activities that write account rows, on the shared queue (any worker can take them). Each write carries a dedupe
 * key from the workflow, so a retry after a lost completion is applied once. They answer with the row's state, so
 * the workflow can follow what the database decided (for instance a row that another activation superseded).
 */
export function createAccountStoreActivities(pool: DatabasePool) {
  /** What the workflow needs of a written row. Its events go out as webhooks through the outbox, not from here. */
  const snapshot = (change: { applied: boolean; row: AccountRow }): AccountSnapshot => ({
    applied: change.applied,
    status: change.row.status,
    isPrimary: change.row.is_primary,
    phoneNumber: change.row.phone_number,
    deleted: change.row.deleted_at !== null,
  });
  return {
    async recordStatus(change: FromWorkflow<StatusChange>): Promise<AccountSnapshot> {
      return snapshot(await recordStatusChange(pool, { ...change, eventType: accountEventType(change.eventType) }));
    },

    async recordEvent(event: {
      sessionId: string;
      eventType: string;
      data: Record<string, unknown>;
      dedupeKey: string;
      wait?: AccountWait;
    }): Promise<{ applied: boolean }> {
      return recordAccountEvent(pool, { ...event, eventType: accountEventType(event.eventType) });
    },

    async recordLoginCode(code: {
      sessionId: string;
      kind: 'qr' | 'pairing_code';
      value: string;
      dedupeKey: string;
      timings?: Record<string, number>;
    }): Promise<{ applied: boolean }> {
      return recordLoginCode(pool, code);
    },

    async activateAccount(activation: Activation): Promise<AccountSnapshot & { releasedSessionIds: string[] }> {
      const activated = await activateAccount(pool, activation);
      return { ...snapshot(activated), releasedSessionIds: activated.releasedSessionIds };
    },

    async endAccount(ending: FromWorkflow<Ending>): Promise<AccountSnapshot> {
      return snapshot(await endAccount(pool, { ...ending, eventType: accountEventType(ending.eventType) }));
    },
  };
}

import type { DatabasePool } from 'slonik';
import { recordStatusChange, type StatusChange } from '../db/accounts.js';
import type { AccountStatus } from '../domain/account-status.js';

export interface RecordStatusResult {
  applied: boolean;
  status: AccountStatus;
}

/** Activities that write account rows; they run on the shared queue, any worker can take them. */
export function createAccountStoreActivities(pool: DatabasePool) {
  return {
    async recordStatus(change: StatusChange): Promise<RecordStatusResult> {
      const { applied, row } = await recordStatusChange(pool, change);
      return { applied, status: row.status };
    },
  };
}

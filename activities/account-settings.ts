import { readFile } from 'node:fs/promises';
import { accountOverridesSchema, accountSettingsFile, type AccountOverrides } from '../config/account-settings.js';
import { sessionKey } from '../domain/session-key.js';
import { accountSettings, type AccountSettings, type AccountTimings } from '../domain/account-timings.js';

/** Which account asks for its settings. */
export interface AccountAsking {
  workspaceId: string;
  sessionId: string;
}

/**
 * The account workflow's settings, a local activity of the worker: each run reads its timings once, at start, and the
 * answer stays in the run's history. `settingsFor` is the worker's configuration (`workerAccountSettings`), or a test's.
 */
export function createAccountSettingsActivities(settingsFor: (account: AccountAsking) => Promise<AccountSettings>) {
  return {
    async accountSettings(account: AccountAsking): Promise<AccountSettings> {
      return settingsFor(account);
    },
  };
}

/**
 * The worker's settings: ACCOUNT_TIMINGS for every account, over them an account's own file in ACCOUNT_SETTINGS_DIR
 * when there is one (development and tests).
 */
export function workerAccountSettings(
  timings: Partial<AccountTimings> = {},
  directory?: string,
): (account: AccountAsking) => Promise<AccountSettings> {
  return async ({ workspaceId, sessionId }) => {
    const own = directory
      ? await readOverrides(accountSettingsFile(directory, sessionKey(workspaceId, sessionId)))
      : {};
    return accountSettings({ ...own, timings: { ...timings, ...own.timings } });
  };
}

async function readOverrides(file: string): Promise<AccountOverrides> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return accountOverridesSchema.parse(JSON.parse(text));
}

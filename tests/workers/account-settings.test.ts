import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { workerAccountSettings } from '../../activities/account-settings.js';
import { accountSettingsFile } from '../../config/account-settings.js';
import { ConfigError, readProcessEnv } from '../../config/env.js';
import { sessionKey } from '../../domain/session-key.js';
import { DEFAULT_TIMINGS } from '../../domain/account-timings.js';

const BASE_ENV = { DATABASE_URL: 'postgres://x@127.0.0.1/x', TEMPORAL_ADDRESS: 'x:1', ENCRYPTION_KEYS: '' };

describe("the account workflow's settings, from its worker's configuration", () => {
  it('ACCOUNT_TIMINGS is a JSON object of known timings; anything else stops the worker at start', () => {
    const env = (value: string) => {
      try {
        return readProcessEnv({ ...BASE_ENV, ACCOUNT_TIMINGS: value });
      } catch (error) {
        return error;
      }
    };
    const problem = (value: string) => {
      const result = env(value);
      return result instanceof ConfigError ? result.message : '';
    };
    assert.match(problem('{"qrExpiryMs":"soon"}'), /ACCOUNT_TIMINGS/);
    assert.match(problem('{"qrExpiryMs":1000,"typo":1}'), /ACCOUNT_TIMINGS/);
    assert.match(problem('not json'), /ACCOUNT_TIMINGS/);
    assert.doesNotMatch(problem('{"qrExpiryMs":1000}'), /ACCOUNT_TIMINGS/);
  });

  it("every account gets the worker's timings over the defaults, and an account's own file over those", async () => {
    const directory = await mkdtemp(join(tmpdir(), 'account-settings-'));
    try {
      const settingsFor = workerAccountSettings({ qrExpiryMs: 120_000, readyTimeoutMs: 20_000 }, directory);
      await writeFile(
        accountSettingsFile(directory, sessionKey('ws-1', 'sess-own')),
        JSON.stringify({ timings: { qrExpiryMs: 1_500 }, continueAsNewAfterEvents: 2 }),
      );
      assert.deepEqual(await settingsFor({ workspaceId: 'ws-1', sessionId: 'sess-plain' }), {
        timings: { ...DEFAULT_TIMINGS, qrExpiryMs: 120_000, readyTimeoutMs: 20_000 },
        continueAsNewAfterEvents: null,
      });
      assert.deepEqual(await settingsFor({ workspaceId: 'ws-1', sessionId: 'sess-own' }), {
        timings: { ...DEFAULT_TIMINGS, qrExpiryMs: 1_500, readyTimeoutMs: 20_000 },
        continueAsNewAfterEvents: 2,
      });
      // The same session id in another workspace is another account.
      assert.equal((await settingsFor({ workspaceId: 'ws-2', sessionId: 'sess-own' })).timings.qrExpiryMs, 120_000);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('without a configuration, the defaults', async () => {
    assert.deepEqual(await workerAccountSettings()({ workspaceId: 'ws-1', sessionId: 'sess-1' }), {
      timings: DEFAULT_TIMINGS,
      continueAsNewAfterEvents: null,
    });
  });
});

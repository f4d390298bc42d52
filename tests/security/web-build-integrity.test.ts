import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { readProcessEnv } from '../../config/env.js';
import { profileName } from '../../engine/real/postgres-auth.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { chromiumPids } from '../../engine/real/chromium-memory.js';
import { AccountDriver } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { httpsWebBuildArchive } from '../helpers/web-build-archive.js';
import { eventually, openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';
import { sessionKey } from '../../domain/session-key.js';

const LISTED = '2.3000.1017000021';
/** Listed with a SHA-256 its archive's bytes do not have: a build changed on the archive, or on the way. */
const TAMPERED = '2.3000.1017000022';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('remote WhatsApp Web builds: https only, and only a build matching its listed SHA-256 runs', () => {
  it('an http:// archive is a configuration error naming the variable', () => {
    assert.throws(
      () =>
        readProcessEnv({
          ...process.env,
          WA_WEB_VERSION_CACHE: 'remote',
          WA_WEB_VERSION_REMOTE_PATH: 'http://127.0.0.1:9/builds/{version}.html',
          WA_WEB_VERSION_DIGESTS: `${LISTED}=${'0'.repeat(64)}`,
        }),
      /WA_WEB_VERSION_REMOTE_PATH: must be an https:\/\/ URL/,
    );
    assert.throws(
      () =>
        readProcessEnv({
          ...process.env,
          WA_WEB_VERSION_CACHE: 'remote',
          WA_WEB_VERSION_REMOTE_PATH: 'https://builds.example/{version}.html',
          WA_WEB_VERSION_DIGESTS: `${LISTED}=not-a-digest`,
        }),
      /WA_WEB_VERSION_DIGESTS: entry 1: must be version=<SHA-256 in 64 hex digits>/,
    );
  });

  describe('a real-engine worker against an https archive', { timeout: 240_000 }, () => {
    let pool: DatabasePool;
    let client: Client;
    let closeClient: () => Promise<void>;
    const workers: ChildHandle[] = [];
    let archive: Awaited<ReturnType<typeof httpsWebBuildArchive>>;
    let api: TestApi;
    const dir = join(testStackEnv().dataDir, uniqueId('web-builds'));

    const workerFor = async (pin: string) => {
      const started = await startTestWorker({
        WA_ENGINE: 'real',
        WA_WEB: 'standin',
        ENGINE_DATA_DIR: join(dir, uniqueId('engine')),
        WA_WEB_VERSION: pin,
        WA_WEB_VERSION_CACHE: 'remote',
        WA_WEB_VERSION_REMOTE_PATH: archive.url,
        WA_WEB_VERSION_DIGESTS: `${LISTED}=${sha256(archive.pageOf(LISTED))},${TAMPERED}=${sha256('another build')}`,
        NODE_EXTRA_CA_CERTS: archive.caFile,
        // Chromium resolves no name at all: the page comes from the archive, through the service, or not at all.
        CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND',
      });
      workers.push(started.worker);
      return new AccountDriver(pool, client, started.taskQueue);
    };

    before(async () => {
      pool = await openPool();
      ({ client, close: closeClient } = await openTemporalClient());
      archive = await httpsWebBuildArchive(dir);
      api = await buildTestApi(pool, client, { taskQueue: uniqueId('tq-view'), simulator: false });
    });
    after(async () => {
      for (const worker of workers) await worker.stop('SIGTERM');
      await api?.app.close();
      await closeClient?.();
      await pool?.end();
      archive?.server.close();
    });

    it('the listed build, matching its SHA-256, is fetched over https and runs', async () => {
      const accounts = await workerFor(LISTED);
      const { sessionId } = await accounts.create();
      const scanning = await accounts.showingQr(sessionId);
      assert.match(scanning.last_qr ?? '', /^2@/);
      assert.ok(archive.requested.includes(LISTED));
    });

    it('a build whose bytes do not match its listed SHA-256 never runs, and the account says why', async () => {
      const accounts = await workerFor(TAMPERED);
      const workspaceId = uniqueId('ws-builds');
      const { sessionId } = await accounts.create({
        workspaceId,
        timings: { reconnectMaxAttempts: 2, reconnectBaseDelayMs: 500, reconnectMaxDelayMs: 1_000 },
      });
      const why = `web build ${TAMPERED.replaceAll('.', '\\.')} does not match its listed SHA-256`;
      const details: string[] = [];
      await eventually(
        async () => {
          const view = await api.as(api.adminKey, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
          const { detail } = view.json<{ detail: string }>();
          if (details.at(-1) !== detail) details.push(detail);
          return detail.startsWith('failed') ? true : undefined;
        },
        60_000,
        'the account to fail',
      ).catch((error: Error) => assert.fail(`${error.message}; details seen: ${details.join(' | ')}`));
      // While it retries, and once it has failed, a person reads why in its detail.
      const retrying = new RegExp(`^starting WhatsApp Web, attempt 2 of \\d+, .*: start failed: ${why}$`);
      assert.ok(
        details.some((detail) => retrying.test(detail)),
        details.join(' | '),
      );
      assert.match(details.at(-1) ?? '', new RegExp(`^failed: the reconnect attempts ran out: start failed: ${why}$`));
      const failed = await accounts.rowWithStatus(sessionId, 'failed', 60_000);
      assert.match(failed.failure_reason ?? '', new RegExp(`^reconnect_failed:start_failed:${why}$`));
      assert.ok(archive.requested.includes(TAMPERED), 'the build was fetched, then refused');
      assert.equal(failed.last_qr, null, 'it never showed a QR');
      assert.deepEqual(
        await chromiumPids(profileName(sessionKey(workspaceId, sessionId))),
        [],
        'no Chromium ran for it',
      );
    });
  });
});

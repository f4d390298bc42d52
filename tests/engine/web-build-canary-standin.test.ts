import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { standInPage } from '../../engine/real/web-builds.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { AccountDriver, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { httpsWebBuildArchive } from '../helpers/web-build-archive.js';
import { startTestWorker } from '../helpers/worker-process.js';

const CURRENT = '2.3000.1017000031';
const GOOD = '2.3000.1017000032';
/** A build WhatsApp broke: its page's script throws before WhatsApp Web starts, so no QR ever shows. */
const BROKEN = '2.3000.1017000033';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface CanaryView {
  id: number;
  state: string;
  decisionReason: string | null;
}

describe('canary WhatsApp Web builds on the real engine against the stand-in', { timeout: 300_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: ChildHandle;
  let accounts: AccountDriver;
  let archive: Awaited<ReturnType<typeof httpsWebBuildArchive>>;
  let api: TestApi;
  const dir = join(testStackEnv().dataDir, uniqueId('canary-builds'));

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    archive = await httpsWebBuildArchive(dir, (version, standIn) => {
      const page = standInPage(standIn, version);
      return version === BROKEN ? page.replace('<script>', "<script>throw new Error('this build is broken');") : page;
    });
    const started = await startTestWorker({
      WA_ENGINE: 'real',
      WA_WEB: 'standin',
      ENGINE_DATA_DIR: join(dir, 'engine'),
      WA_WEB_VERSION: CURRENT,
      WA_WEB_VERSION_CACHE: 'remote',
      WA_WEB_VERSION_REMOTE_PATH: archive.url,
      WA_WEB_VERSION_DIGESTS: [CURRENT, GOOD, BROKEN]
        .map((build) => `${build}=${sha256(archive.pageOf(build))}`)
        .join(','),
      NODE_EXTRA_CA_CERTS: archive.caFile,
      CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND',
      ENGINE_CHECK_EVERY_MS: '1000',
      ENGINE_CHECK_TIMEOUT_MS: '1500',
    });
    worker = started.worker;
    accounts = new AccountDriver(pool, client, started.taskQueue);
    api = await buildTestApi(pool, client, { taskQueue: started.taskQueue, simulator: true });
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await api?.app.close();
    await closeClient?.();
    await pool?.end();
    archive?.server.close();
  });

  const startCanary = async (payload: object) => {
    const answer = await api.as(api.adminKey, { method: 'POST', url: '/v1/admin/web-build-canaries', payload });
    assert.equal(answer.statusCode, 201, answer.body);
    return answer.json<CanaryView>().id;
  };
  const decided = (id: number) =>
    eventually(
      async () => {
        const view = (await api.as(api.adminKey, { url: `/v1/admin/web-build-canaries/${id}` })).json<CanaryView>();
        return view.state === 'running' ? undefined : view;
      },
      150_000,
      `canary ${id} decided`,
    );
  const connectsOn = async (sessionId: string, build: string) => {
    await accounts.rowWhere(sessionId, (row) => row.last_qr !== null, 'its QR', 90_000);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    const row = await accounts.rowWhere(
      sessionId,
      (account) => account.status === 'connected' && account.web_version !== null,
      'connected, its build reported',
      90_000,
    );
    assert.equal(row.web_version, build, `${sessionId} runs ${build}`);
  };
  const nonQrEvents = async (sessionId: string) =>
    (await accounts.eventTypes(sessionId)).filter((type) => type !== 'qr');

  it('the broken build is rolled back and its accounts show their QR and connect on the current build; an account outside is never touched', async () => {
    const outside = await accounts.create({ workspaceId: uniqueId('ws-standin-out') });
    await accounts.showingQr(outside.sessionId);
    const outsideBefore = await nonQrEvents(outside.sessionId);

    const inside = uniqueId('ws-standin-in');
    const canaryId = await startCanary({
      candidate: BROKEN,
      sharePercent: 0,
      workspaces: [inside],
      minStarts: 3,
      readyWithinSeconds: 20,
      judgeEverySeconds: 2,
    });
    const tried = [];
    for (let i = 0; i < 3; i += 1) tried.push((await accounts.create({ workspaceId: inside })).sessionId);

    const verdict = await decided(canaryId);
    assert.equal(verdict.state, 'rolled_back', verdict.decisionReason ?? '');
    assert.match(verdict.decisionReason ?? '', /^3 of 3 starts on 2\.3000\.1017000033 never reached a working page/);
    assert.ok(archive.requested.includes(BROKEN), 'the candidate was loaded');
    // Back on the current build: each shows its QR again, and connects with it (a session reports its build
    // once connected).
    for (const sessionId of tried) await connectsOn(sessionId, CURRENT);
    assert.deepEqual(await nonQrEvents(outside.sessionId), outsideBefore, 'nothing happened to the account outside');
  });

  it('the good build is promoted, and a new account connects on it', async () => {
    const workspaceId = uniqueId('ws-standin-good');
    const canaryId = await startCanary({
      candidate: GOOD,
      sharePercent: 100,
      minStarts: 2,
      readyWithinSeconds: 90,
      judgeEverySeconds: 2,
    });
    for (let i = 0; i < 2; i += 1) {
      const { sessionId } = await accounts.create({ workspaceId });
      await accounts.showingQr(sessionId);
    }
    const verdict = await decided(canaryId);
    assert.equal(verdict.state, 'promoted', verdict.decisionReason ?? '');
    const { sessionId } = await accounts.create({ workspaceId });
    await connectsOn(sessionId, GOOD);
  });
});

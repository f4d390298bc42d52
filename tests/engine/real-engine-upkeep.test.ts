import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { listAccountEvents } from '../../db/account-events.js';
import { setAccountWebVersionPin } from '../../db/web-version-pins.js';
import { standInPage } from '../../engine/real/web-builds.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { restartAccountSignal, signalAccount } from '../../workflows/messages.js';
import { AccountDriver, randomPhone } from '../helpers/accounts.js';
import { TestCertificateAuthority } from '../helpers/certificates.js';
import { openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

const SERVICE_PIN = '2.3000.1017000003';
const ACCOUNT_PIN = '2.3000.1017000004';
const STANDIN_HTML = fileURLToPath(new URL('../../engine/real/whatsapp-web-standin.html', import.meta.url));
const MB = 1024 * 1024;

/**
 * WhatsApp Web builds served the way an archive of builds serves them (whatsapp-web.js's remote webVersionCache),
 * on loopback: each build is the stand-in page answering as that build.
 */
async function buildArchive(): Promise<{
  server: Server;
  url: string;
  requested: string[];
  digests: string;
  caFile: string;
}> {
  const html = await readFile(STANDIN_HTML, 'utf8');
  const requested: string[] = [];
  // Builds come over https only (a test CA the worker trusts), each listed with its SHA-256.
  const ca = await TestCertificateAuthority.create(join(testStackEnv().dataDir, uniqueId('archive-ca')), 'archive');
  const { cert, key } = await ca.issue('127.0.0.1', { altNames: ['IP:127.0.0.1'], usages: ['serverAuth'] });
  const digests = [SERVICE_PIN, ACCOUNT_PIN]
    .map((version) => `${version}=${createHash('sha256').update(standInPage(html, version)).digest('hex')}`)
    .join(',');
  const server = createServer({ cert: await readFile(cert), key: await readFile(key) }, (request, response) => {
    const version = /^\/builds\/([0-9][0-9A-Za-z.-]*)\.html$/.exec(request.url ?? '')?.[1];
    if (!version) {
      response.writeHead(404).end();
      return;
    }
    requested.push(version);
    response.writeHead(200, { 'content-type': 'text/html' }).end(standInPage(html, version));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}/builds/{version}.html`, requested, digests, caFile: ca.cert };
}

describe('the real engine kept alive: pinned builds, hung pages and grown browsers', { timeout: 300_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: ChildHandle;
  let accounts: AccountDriver;
  let archive: Awaited<ReturnType<typeof buildArchive>>;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    archive = await buildArchive();
    const started = await startTestWorker({
      WA_ENGINE: 'real',
      WA_WEB: 'standin',
      ENGINE_DATA_DIR: join(testStackEnv().dataDir, uniqueId('engine-upkeep')),
      WA_WEB_VERSION: SERVICE_PIN,
      WA_WEB_VERSION_CACHE: 'remote',
      WA_WEB_VERSION_REMOTE_PATH: archive.url,
      WA_WEB_VERSION_DIGESTS: archive.digests,
      NODE_EXTRA_CA_CERTS: archive.caFile,
      ENGINE_CHECK_EVERY_MS: '1000',
      ENGINE_CHECK_TIMEOUT_MS: '1500',
      ENGINE_CHECK_MISSES: '2',
      ENGINE_MEMORY_LIMIT_MB: '1000',
      ENGINE_RECYCLE_QUIET_MS: '1000',
      // Chromium resolves no name at all: the page comes from the archive on loopback through the library.
      CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND',
    });
    worker = started.worker;
    accounts = new AccountDriver(pool, client, started.taskQueue);
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
    archive?.server.close();
  });

  const connectedAccount = async () => {
    const created = await accounts.create();
    await accounts.showingQr(created.sessionId);
    await accounts.phone(created.sessionId, 'scan', { phone: randomPhone() });
    await accounts.rowWithStatus(created.sessionId, 'connected', 60_000);
    return created;
  };
  const restartReasons = async (sessionId: string) =>
    (await listAccountEvents(pool, (await accounts.row(sessionId))?.workspace_id ?? '', sessionId, 1_000))
      .filter((event) => event.type === 'disconnected')
      .map((event) => event.data.reason);
  const qrCount = async (sessionId: string) =>
    (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length;

  it("loads the pinned build from the archive and reports it; an account's own pin wins at its next start", async () => {
    const { sessionId, handle } = await connectedAccount();
    const seen = await accounts.rowWhere(sessionId, (row) => row.web_version !== null, 'its build seen', 20_000);
    assert.equal(seen.web_version, SERVICE_PIN, 'the page runs the build the service pins');
    assert.ok(archive.requested.includes(SERVICE_PIN));
    assert.ok((seen.engine_memory_bytes ?? 0) > 50 * MB, `its Chromium measured: ${seen.engine_memory_bytes} bytes`);

    await setAccountWebVersionPin(pool, (await accounts.row(sessionId))?.id ?? 0, ACCOUNT_PIN);
    await signalAccount(handle, restartAccountSignal);
    await accounts.rowWhere(
      sessionId,
      (row) => row.status === 'connected' && row.web_version === ACCOUNT_PIN,
      'running the account’s build after its restart',
      60_000,
    );
    assert.ok(archive.requested.includes(ACCOUNT_PIN));
    assert.equal(await qrCount(sessionId), 1, 'the restart came back from the saved login');
  });

  it('a page that hangs while connected is restarted from the saved login, without a QR', async () => {
    const { sessionId } = await connectedAccount();
    await accounts.rowWhere(sessionId, (row) => row.web_version !== null, 'seen alive once', 20_000);
    await accounts.phone(sessionId, 'hang');
    await accounts.reconnected(sessionId, 90_000, 'restarted after its page hung');
    assert.deepEqual(await restartReasons(sessionId), ['transient:unresponsive']);
    assert.equal(await qrCount(sessionId), 1);
  });

  it('a Chromium that grows past the memory limit is restarted without a QR, and comes back small', async () => {
    const { sessionId } = await connectedAccount();
    const before = await accounts.rowWhere(sessionId, (row) => row.engine_memory_bytes !== null, 'measured', 20_000);
    assert.ok((before.engine_memory_bytes ?? 0) < 1000 * MB, `starts under the limit: ${before.engine_memory_bytes}`);
    // The host's check can see the browser past the limit while the page is still filling the memory, and recycle it
    // under the action: the page or its browser closing is then the answer. The restart reason below tells which.
    await accounts.phone(sessionId, 'grow_memory', { megabytes: 900 }).catch((error: unknown) => {
      if (!/Target closed|Session closed|Connection closed|context was destroyed|detached Frame/.test(String(error)))
        throw error;
    });
    await accounts.reconnected(sessionId, 90_000, 'recycled for its memory');
    assert.deepEqual(await restartReasons(sessionId), ['transient:memory_recycle']);
    assert.equal(await qrCount(sessionId), 1);
    const after = await accounts.rowWhere(
      sessionId,
      (row) => row.status === 'connected' && row.engine_memory_bytes !== null,
      'measured again after the restart',
      30_000,
    );
    assert.ok((after.engine_memory_bytes ?? 0) < 1000 * MB, `back under the limit: ${after.engine_memory_bytes}`);
  });
});

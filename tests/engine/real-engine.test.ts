import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import WebSocket from 'ws';
import { listAccountEvents } from '../../db/account-events.js';
import { EngineAuthStore } from '../../db/engine-auth.js';
import { profileName } from '../../engine/real/postgres-auth.js';
import { findProfilePicture } from '../../db/profile-pictures.js';
import { SIMULATED_PROFILE_PICTURE } from '../../engine/simulated/simulated-session.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import type { ChildHandle } from '../../lib/child-process.js';
import { chromiumMemory, chromiumPids } from '../../engine/real/chromium-memory.js';
import { deleteAccountSignal, requestPairingCodeUpdate, signalAccount } from '../../workflows/messages.js';
import { proxyOwner, storedProxy } from '../../db/proxy-settings.js';
import { findFreePort } from '../../infra/ports.js';
import { AccountDriver, randomPhone } from '../helpers/accounts.js';
import { startTestProxy } from '../helpers/test-proxies.js';
import { buildTestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, testStackEnv, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

/** The modules whatsapp-web.js may ask for that the stand-in answers harmlessly (none of them matter at login). */
const TOLERATED_HARMLESS_MODULES = [
  'WAWebBackendJobsCommon',
  'WAWebE2EProtoUtils',
  'WAWebSyncGatingUtils',
  'WAWebCallCollection',
  'WAWebAddonReactionTableMode',
  'WAWebAddonPollVoteTableMode',
];

describe('the real engine: whatsapp-web.js in Chromium against the WhatsApp Web stand-in', { timeout: 240_000 }, () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  const workers: ChildHandle[] = [];
  let accounts: AccountDriver;
  let engineDir: string;
  let workerLog: string;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    engineDir = join(testStackEnv().dataDir, uniqueId('engine'));
    const started = await startTestWorker({ WA_ENGINE: 'real', WA_WEB: 'standin', ENGINE_DATA_DIR: engineDir });
    workers.push(started.worker);
    workerLog = started.logFile;
    accounts = new AccountDriver(pool, client, started.taskQueue);
  });
  after(async () => {
    for (const worker of workers) await worker.stop('SIGTERM');
    await closeClient?.();
    await pool?.end();
  });
  /** The session's Chromium profile folder, named after its session key. */
  const profileOf = async (sessionId: string) => profileName(await accounts.key(sessionId));

  it('connects: a QR produced by whatsapp-web.js, a scan, connected with the phone; a drop reconnects without a new QR; delete leaves no Chromium', async () => {
    const createdAt = Date.now();
    const { sessionId, handle } = await accounts.create();
    const scanning = await accounts.showingQr(sessionId);
    const firstQrMs = (scanning.last_qr_at ?? 0) - createdAt;
    // The library's own QR payload: ref, noise key, identity key, ADV secret, platform.
    assert.equal(scanning.last_qr?.split(',').length, 5);
    assert.match(scanning.last_qr ?? '', /^2@.+,Chrome$/);
    assert.equal((await chromiumPids(await profileOf(sessionId))).length > 0, true, 'a Chromium runs for the session');

    const phone = randomPhone();
    await accounts.phone(sessionId, 'scan', { phone, pushName: 'Toko Maju' });
    const row = await accounts.rowWithStatus(sessionId, 'connected', 60_000);
    assert.equal(row.phone_number, phone);
    assert.equal(row.push_name, 'Toko Maju');

    const memory = await chromiumMemory(await profileOf(sessionId));
    await writeMeasurement({
      createToFirstQrMs: firstQrMs,
      chromiumRssMbSummed: memory.rssMb,
      chromiumPssMb: memory.pssMb,
      chromiumProcesses: memory.processes,
    });

    const qrsBefore = (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length;
    await accounts.phone(sessionId, 'drop');
    await explained(
      accounts,
      workerLog,
      sessionId,
      accounts.reconnected(sessionId, 90_000, 'reconnected after the drop'),
    );
    assert.equal(
      (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length,
      qrsBefore,
      'no new QR: the login was kept',
    );

    await signalAccount(handle, deleteAccountSignal);
    await handle.result();
    await eventually(
      async () => ((await chromiumPids(await profileOf(sessionId))).length === 0 ? true : undefined),
      20_000,
      'no Chromium left for the session',
    );
    // Killed while it shuts down, Chromium may lose the login it has not written yet: every close here is clean.
    assert.doesNotMatch(await readFile(workerLog, 'utf8'), /Chromium did not exit after closing/);
  });

  it('an account that ends without a logout (an unscanned QR expires) leaves no profile folder on the host', async () => {
    const { sessionId, handle } = await accounts.create({ timings: { qrExpiryMs: 8_000 } });
    await accounts.showingQr(sessionId);
    const profile = join(engineDir, 'sessions', await profileOf(sessionId));
    assert.equal(existsSync(profile), true, 'Chromium keeps the session in a profile folder while it runs');
    assert.equal((await handle.result()).failureReason, 'qr_expired');
    assert.equal(existsSync(profile), false, 'the profile folder is gone with the account');
  });

  it('a Chromium that crashes (the library does not report it) reconnects from the saved login', async () => {
    const { sessionId, handle } = await accounts.create();
    await accounts.showingQr(sessionId);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await accounts.rowWithStatus(sessionId, 'connected', 60_000);
    // Once Chromium has written the login to disk, the whole browser dies at once (as in an out-of-memory kill).
    await eventually(
      async () =>
        execFileSync(
          'sh',
          ['-c', `grep -rl wa-connect-standin-auth "${engineDir}/sessions/${await profileOf(sessionId)}" || true`],
          { encoding: 'utf8' },
        ).trim()
          ? true
          : undefined,
      30_000,
      'the login on disk',
    );
    const pids = await chromiumPids(await profileOf(sessionId));
    assert.ok(pids.length > 0, "the session's Chromium processes");
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await explained(
      accounts,
      workerLog,
      sessionId,
      accounts.reconnected(sessionId, 60_000, 'reconnected after the crash'),
    );
    const disconnect = (await accounts.eventTypes(sessionId)).includes('disconnected');
    assert.ok(disconnect);
    await signalAccount(handle, deleteAccountSignal);
    await handle.result();
  });

  it('an own id that comes as an internal @lid is resolved to the phone number, or fails with a reason', async () => {
    const resolvable = await accounts.create();
    const unresolvable = await accounts.create();
    await Promise.all([accounts.showingQr(resolvable.sessionId), accounts.showingQr(unresolvable.sessionId)]);
    const phone = randomPhone();
    await accounts.phone(resolvable.sessionId, 'scan', { phone, lid: 'resolvable' });
    await accounts.phone(unresolvable.sessionId, 'scan', { phone: randomPhone(), lid: 'unresolvable' });
    assert.equal((await accounts.rowWithStatus(resolvable.sessionId, 'connected', 60_000)).phone_number, phone);
    const failed = await accounts.rowWithStatus(unresolvable.sessionId, 'failed', 60_000);
    assert.equal(failed.failure_reason, 'phone_extraction_failed:PhoneUnresolvable');
    assert.equal(failed.phone_number, null);
    await signalAccount(resolvable.handle, deleteAccountSignal);
    await resolvable.handle.result();
    await unresolvable.handle.result();
  });

  it('who logged in: the @lid id, the platform and the profile picture the page reports are kept, the picture fetched inside the page', async () => {
    const { sessionId, handle } = await accounts.create();
    await accounts.showingQr(sessionId);
    const phone = randomPhone();
    await accounts.phone(sessionId, 'scan', {
      phone,
      pushName: 'Toko Foto',
      lid: 'resolvable',
      platform: 'smba',
      profilePicture: true,
    });
    const row = await accounts.rowWithStatus(sessionId, 'connected', 60_000);
    assert.equal(row.phone_number, phone);
    assert.match(row.whatsapp_lid ?? '', /^[0-9]+@lid$/);
    assert.equal(row.whatsapp_platform, 'smba');
    const withPicture = await accounts.rowWhere(
      sessionId,
      (current) => current.profile_picture_at !== null,
      'a profile picture',
    );
    const picture = await findProfilePicture(pool, withPicture.id);
    assert.equal(picture?.content_type, 'image/png');
    assert.deepEqual(picture?.bytes, SIMULATED_PROFILE_PICTURE, 'the picture the page served');
    const ready = (await listAccountEvents(pool, withPicture.workspace_id, sessionId)).find(
      (event) => event.type === 'session_ready',
    );
    assert.equal(ready?.data.platform, 'smba');
    assert.equal(ready?.data.lid, row.whatsapp_lid);
    await signalAccount(handle, deleteAccountSignal);
  });

  it("an admin's screenshot is Chromium's own picture of the page: a PNG of the login screen, taken on the session's host", async () => {
    const { sessionId, handle } = await accounts.create();
    const scanning = await accounts.showingQr(sessionId);
    const api = await buildTestApi(pool, client, { taskQueue: accounts.taskQueue, simulator: false });
    try {
      const shot = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${scanning.workspace_id}/accounts/${sessionId}/screenshot`,
      });
      assert.equal(shot.statusCode, 200, shot.body);
      assert.equal(shot.headers['content-type'], 'image/png');
      const png = shot.rawPayload;
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
      // The IHDR chunk: the page's viewport, not an empty picture.
      assert.ok(
        png.readUInt32BE(16) >= 320 && png.readUInt32BE(20) >= 200,
        `${png.readUInt32BE(16)}×${png.readUInt32BE(20)}`,
      );
    } finally {
      await api.app.close();
    }
    await signalAccount(handle, deleteAccountSignal);
  });

  it("goes out through the account's proxy: Chromium is given a bridge on loopback, never the proxy or its login; a proxy that refuses starts no browser", async () => {
    const login = { username: 'till-2', password: 'bridge-S3cret-91c' };
    const proxy = await startTestProxy('http', login);
    const keyring = keyringFromEnv(process.env);
    try {
      const workspaceId = uniqueId('ws-proxy');
      const sessionId = uniqueId('sess');
      const { handle } = await accounts.create({
        workspaceId,
        sessionId,
        proxy: storedProxy(keyring, proxyOwner(workspaceId, sessionId), {
          address: { scheme: 'http', host: '127.0.0.1', port: proxy.port },
          credentials: login,
        }),
      });
      await accounts.showingQr(sessionId);
      // The start's check (its own user agent), then the browser's requests, every one to WhatsApp and logged in:
      // Chromium's calls to Google's hosts are not carried.
      await eventually(
        async () => (proxy.tunnels.some((tunnel) => /Chrome/.test(tunnel.userAgent ?? '')) ? true : undefined),
        30_000,
        "the browser's own traffic through the proxy",
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; tunnels: ${JSON.stringify(proxy.tunnels)}`);
      });
      assert.equal(proxy.tunnels[0]?.userAgent, 'wa-connect', 'the start checks the proxy first');
      for (const tunnel of proxy.tunnels) {
        assert.match(tunnel.target, /^([a-z0-9-]+\.)*whatsapp\.(com|net):443$/, tunnel.target);
        assert.equal(tunnel.authorized, true);
      }
      const pids = await chromiumPids(await profileOf(sessionId));
      assert.ok(pids.length > 0);
      const browserSeen = (
        await Promise.all(
          pids.map(async (pid) =>
            [
              await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
              await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => ''),
            ].join('\n'),
          ),
        )
      ).join('\n');
      assert.match(browserSeen, /--proxy-server=http:\/\/127\.0\.0\.1:\d+/, 'Chromium goes out through the bridge');
      assert.ok(!browserSeen.includes(`:${proxy.port}`), "Chromium is not told the account's proxy");
      assert.ok(!browserSeen.includes(login.password) && !browserSeen.includes(login.username), 'nor its login');
      await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
      await accounts.rowWithStatus(sessionId, 'connected', 60_000);
      await signalAccount(handle, deleteAccountSignal);

      const refusingPort = await findFreePort();
      const refusedWorkspace = uniqueId('ws-proxy');
      const refusedId = uniqueId('sess');
      const refused = await accounts.create({
        workspaceId: refusedWorkspace,
        sessionId: refusedId,
        proxy: storedProxy(keyring, proxyOwner(refusedWorkspace, refusedId), {
          address: { scheme: 'socks5', host: '127.0.0.1', port: refusingPort },
          credentials: null,
        }),
      });
      await accounts.rowWhere(
        refusedId,
        (row) => row.wait?.kind === 'engine_retry' && row.wait.reason.startsWith('proxy_unreachable'),
        'a retry that names the proxy',
      );
      assert.deepEqual(await chromiumPids(await profileOf(refusedId)), [], 'no browser for a proxy that refuses');
      await signalAccount(refused.handle, deleteAccountSignal);
    } finally {
      await proxy.close();
    }
  });

  it('logs in with a pairing code; the phone lists the device under the names the account announces', async () => {
    const phone = randomPhone();
    const { sessionId, handle } = await accounts.create({
      pairingPhoneNumber: phone,
      deviceName: 'Toko Maju till 2',
      browserName: 'Firefox',
    });
    const withCode = await accounts.rowWhere(sessionId, (row) => row.pairing_code !== null, 'a pairing code', 60_000);
    const linked = await accounts.phone(sessionId, 'enter_code', { code: withCode.pairing_code });
    assert.deepEqual(linked.linkedDevice, { os: 'Toko Maju till 2', name: 'Firefox' });
    assert.equal((await accounts.rowWithStatus(sessionId, 'connected', 60_000)).phone_number, phone);
    await signalAccount(handle, deleteAccountSignal);
    await handle.result();
  });

  it('a logout from the phone ends the account and removes the saved login', async () => {
    const { sessionId } = await accounts.create();
    await accounts.showingQr(sessionId);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await accounts.rowWithStatus(sessionId, 'connected', 60_000);
    await accounts.phone(sessionId, 'unlink');
    const row = await accounts.rowWhere(
      sessionId,
      (r) => r.status === 'disconnected' && r.failure_reason === 'logged_out_from_phone',
      'logged out',
      30_000,
    );
    assert.equal(row.is_primary, false);
    await eventually(
      async () => ((await chromiumPids(await profileOf(sessionId))).length === 0 ? true : undefined),
      20_000,
      'no Chromium left',
    );
  });

  it('version guard: the stand-in still gives whatsapp-web.js every module it asks for', async () => {
    const pkg = JSON.parse(await readFile('node_modules/whatsapp-web.js/package.json', 'utf8')) as { version: string };
    const log = await readFile(workerLog, 'utf8');
    const asked = [...log.matchAll(/"standinHarmlessModules":\[([^\]]*)\]/g)].flatMap(
      (m) => JSON.parse(`[${m[1]}]`) as string[],
    );
    const unknown = [...new Set(asked)].filter((name) => !TOLERATED_HARMLESS_MODULES.includes(name));
    assert.deepEqual(
      unknown,
      [],
      `whatsapp-web.js ${pkg.version} asks the stand-in for modules it does not implement: ${unknown.join(', ')}. Implement them in engine/real/whatsapp-web-standin.html.`,
    );
    assert.ok(asked.length > 0, 'the worker reported which modules the library used');
  });
});

/** A failed wait says what the account went through and what its worker logged about it (CI keeps no files). */
async function explained<T>(
  accounts: AccountDriver,
  workerLogFile: string,
  sessionId: string,
  waiting: Promise<T>,
): Promise<T> {
  try {
    return await waiting;
  } catch (error) {
    const workerLines = (await readFile(workerLogFile, 'utf8'))
      .split('\n')
      .filter((line) => line.includes(sessionId) || /"level":(40|50|60)/.test(line));
    throw new Error(
      `${(error as Error).message}\n${await accounts.explain(sessionId)}\nworker log:\n${workerLines.slice(-60).join('\n')}`,
      { cause: error },
    );
  }
}

async function writeMeasurement(values: Record<string, number>) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(testStackEnv().outputDir, 'real-engine-measurements.json'), JSON.stringify(values, null, 2));
}

/**
 * WhatsApp Web as a host with no way out sees it: Chromium resolves no name (its own resolver rules, so no lookup
 * leaves the machine), and the page fails with net::ERR_NAME_NOT_RESOLVED.
 */
const UNREACHABLE_WHATSAPP_ENV = {
  WA_ENGINE: 'real',
  WA_WEB: 'whatsapp',
  CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND',
};

describe('the real engine without the stand-in: WhatsApp Web unreachable', { timeout: 180_000 }, () => {
  it('every attempt shows within 2 s: an event each (start, failure and next try), the detail in words in /v1, the legacy status and the event stream', async () => {
    const pool = await openPool();
    const { client, close } = await openTemporalClient();
    const engineDir = join(testStackEnv().dataDir, uniqueId('engine-offline'));
    const { worker, taskQueue, logFile } = await startTestWorker({
      ...UNREACHABLE_WHATSAPP_ENV,
      ENGINE_DATA_DIR: engineDir,
    });
    const api = await buildTestApi(pool, client, { taskQueue, simulator: false });
    const baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const accounts = new AccountDriver(pool, client, taskQueue);
      const workspaceId = uniqueId('ws-offline');
      const key = await api.keyFor(workspaceId);
      const streamed: { detail: string | null; type: string }[] = [];
      const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/v1/stream?workspaceId=${workspaceId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      socket.on('message', (message: Buffer) => streamed.push(JSON.parse(message.toString()) as (typeof streamed)[0]));
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const { sessionId } = await accounts.create({
        workspaceId,
        timings: { reconnectMaxAttempts: 2, reconnectBaseDelayMs: 3_000, reconnectMaxDelayMs: 6_000 },
      });
      // What a support person sees, every 100 ms, until the account fails.
      const seen: { at: number; detail: string; legacyDetail: string }[] = [];
      for (let status = ''; status !== 'failed';) {
        const view = (await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` })).json<{
          status: string;
          detail: string;
        }>();
        const legacy = (await api.as(key, { url: `/api/session/${sessionId}/status` })).json<{ detail: string }>();
        seen.push({ at: Date.now(), detail: view.detail, legacyDetail: legacy.detail });
        status = view.status;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const events = await listAccountEvents(pool, workspaceId, sessionId);
      const starts = events.filter((event) => event.type === 'engine_starting');
      const retries = events.filter((event) => event.type === 'engine_retry_scheduled');
      assert.deepEqual(
        starts.map((event) => event.data.attempt),
        [1, 2, 3],
      );
      assert.deepEqual(
        retries.map((event) => [event.data.reason, event.data.attempt, event.data.attemptsLeft]),
        [
          ['whatsapp_unreachable', 2, 2],
          ['whatsapp_unreachable', 3, 1],
        ],
      );
      // Each failure as the worker logged it, against the event and the detail that told a person about it.
      const failures = (await readFile(logFile, 'utf8'))
        .split('\n')
        .filter((line) => line.includes(sessionId) && line.includes('WhatsApp Web did not start'))
        .map((line) => JSON.parse(line) as { time: number; err: string });
      assert.equal(failures.length, 3, 'three attempts, three failures');
      assert.match(failures[0]?.err ?? '', /ERR_NAME_NOT_RESOLVED/);
      for (const [index, retry] of retries.entries()) {
        const failedAt = failures[index]?.time ?? 0;
        assert.ok(
          retry.occurred_at - failedAt <= 2_000,
          `failure ${index + 1} recorded ${retry.occurred_at - failedAt} ms after`,
        );
        const words = new RegExp(
          `starting WhatsApp Web, attempt ${index + 2} of 3, (next in \\d+ s|due now): WhatsApp Web unreachable`,
        );
        const shown = seen.find((sample) => sample.at >= failedAt && words.test(sample.detail));
        assert.ok(shown, `attempt ${index + 2} in the detail: ${seen.map((sample) => sample.detail).join(' | ')}`);
        assert.ok(shown.at - failedAt <= 2_000, `failure ${index + 1} shown ${shown.at - failedAt} ms after`);
        assert.ok(
          seen.some((sample) => words.test(sample.legacyDetail)),
          'the legacy status carries the same detail',
        );
      }
      assert.ok(
        seen.some((sample) =>
          /^starting WhatsApp Web, attempt 3 of 3; the last one failed: WhatsApp Web unreachable$/.test(sample.detail),
        ),
      );
      assert.equal(seen.at(-1)?.detail, 'failed: the reconnect attempts ran out: WhatsApp Web unreachable');
      await eventually(
        async () => (streamed.some((message) => message.type === 'session_failed') ? true : undefined),
        5_000,
        'the ending on the stream',
      );
      const streamedWaits = streamed
        .filter((message) => message.type.startsWith('engine_'))
        .map((message) => message.detail);
      assert.equal(streamedWaits.length, 5);
      assert.match(
        streamedWaits[1] ?? '',
        /^starting WhatsApp Web, attempt 2 of 3, next in \d+ s: WhatsApp Web unreachable$/,
      );
      socket.close();
    } finally {
      await api.app.close();
      await worker.stop('SIGTERM');
      await close();
      await pool.end();
    }
  });

  it('fails the account with a clear reason after bounded retries, refuses pairing codes meanwhile in plain words, and leaves no Chromium running', async () => {
    const pool = await openPool();
    const { client, close } = await openTemporalClient();
    const engineDir = join(testStackEnv().dataDir, uniqueId('engine-offline'));
    const { worker, taskQueue } = await startTestWorker({ ...UNREACHABLE_WHATSAPP_ENV, ENGINE_DATA_DIR: engineDir });
    try {
      const accounts = new AccountDriver(pool, client, taskQueue);
      const { sessionId, handle } = await accounts.create({
        timings: { reconnectMaxAttempts: 2, reconnectBaseDelayMs: 200 },
      });
      // A pairing code asked for while no login is on offer is refused with words a person can act on.
      const refusals = new Set<string>();
      for (let asked = 0; asked < 5; asked += 1) {
        const answer = await handle
          .executeUpdate(requestPairingCodeUpdate, {
            args: [{ workflowId: handle.workflowId, phoneNumber: randomPhone() }],
          })
          .then(
            () => 'a code',
            (error: Error) =>
              error instanceof WorkflowUpdateFailedError ? (error.cause?.message ?? 'no reason') : String(error),
          );
        refusals.add(answer);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      for (const refusal of refusals)
        assert.match(
          refusal,
          // The last: Temporal's answer to an update that reaches a run as it returns (the account just failed).
          /not offering a login|between hosts|not linked yet|has ended|is not on this host|already completed|No registered handler/,
          refusal,
        );
      const row = await accounts.rowWithStatus(sessionId, 'failed', 120_000);
      assert.equal(row.failure_reason, 'reconnect_failed:whatsapp_unreachable');
      await handle.result();
      await eventually(
        async () => ((await chromiumPids(engineDir)).length === 0 ? true : undefined),
        20_000,
        'no Chromium left',
      );
    } finally {
      await worker.stop('SIGTERM');
      await close();
      await pool.end();
    }
  });
});

describe('the real engine: a worker killed with SIGKILL, resumed elsewhere', { timeout: 240_000 }, () => {
  it("the killed worker's Chromium dies with it; a new worker on another host resumes the session from the login saved in PostgreSQL, without a QR", async () => {
    const pool = await openPool();
    const { client, close } = await openTemporalClient();
    const taskQueue = uniqueId('tq-real-crash');
    const hostA = join(testStackEnv().dataDir, uniqueId('host-a'));
    const hostB = join(testStackEnv().dataDir, uniqueId('host-b'));
    const first = await startTestWorker({ WA_ENGINE: 'real', WA_WEB: 'standin', ENGINE_DATA_DIR: hostA }, taskQueue);
    let second: Awaited<ReturnType<typeof startTestWorker>> | null = null;
    try {
      const accounts = new AccountDriver(pool, client, taskQueue);
      const { sessionId, handle } = await accounts.create({
        timings: { hostHeartbeatTimeoutMs: 3_000, hostScheduleToStartMs: 5_000 },
      });
      await accounts.showingQr(sessionId);
      const phone = randomPhone();
      await accounts.phone(sessionId, 'scan', { phone });
      await accounts.rowWithStatus(sessionId, 'connected', 60_000);
      // Saved at ready, then completed by a follow-up save once Chromium has written the login to disk: wait until
      // the copy in PostgreSQL holds it.
      await eventually(
        async () => {
          const saved = await new EngineAuthStore(pool, keyringFromEnv(process.env)).load(
            await accounts.key(sessionId),
          );
          return saved && gunzipSync(saved).includes('wa-connect-standin-auth') ? true : undefined;
        },
        60_000,
        'the login saved in PostgreSQL',
      );
      const qrs = (await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length;

      first.worker.process.kill('SIGKILL');
      await first.worker.exited;
      await eventually(
        async () => ((await chromiumPids(hostA)).length === 0 ? true : undefined),
        10_000,
        "host A's Chromium gone with its worker",
      );
      second = await startTestWorker({ WA_ENGINE: 'real', WA_WEB: 'standin', ENGINE_DATA_DIR: hostB }, taskQueue);

      await explained(
        accounts,
        second.logFile,
        sessionId,
        accounts.reconnected(sessionId, 90_000, 'connected again on the new host'),
      );
      assert.equal((await accounts.row(sessionId))?.phone_number, phone);
      assert.equal((await accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length, qrs, 'no new QR');
      assert.ok((await chromiumPids(hostB)).length > 0, 'the session now runs on the new host');
      await signalAccount(handle, deleteAccountSignal);
      await handle.result();
      assert.equal(await accounts.hasAuth(sessionId), false, 'a delete removes the saved login');

      // The kernel killed the SIGKILLed worker's Chromium with it (chromium-with-host.sh): none was left running.
      assert.deepEqual(await chromiumPids(hostA), [], 'no orphaned Chromium left on host A');
    } finally {
      await second?.worker.stop('SIGTERM');
      await close();
      await pool.end();
    }
  });
});

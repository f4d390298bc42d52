import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isProcessAlive } from '../../lib/child-process.js';
import { findFreePort } from '../../infra/ports.js';
import { randomPhone } from '../helpers/accounts.js';
import { eventually, testStackEnv, uniqueId } from '../helpers/context.js';
import { envWithoutStack, runStartScript } from '../helpers/start-script.js';

/** The supervisor's children running a service entry point (`workers/main.ts`, `api/main.ts`). */
function serviceChild(supervisorPid: number, entry: string): number | null {
  const line = execFileSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' })
    .split('\n')
    .map((row) => row.trim().split(/\s+/))
    .find(([, ppid, ...args]) => Number(ppid) === supervisorPid && args.join(' ').includes(entry));
  return line ? Number(line[0]) : null;
}

/** Every process whose command line names this stack's data folder (its PostgreSQL, its Temporal). */
function processesOf(dataDir: string): number[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('supervision under npm start', { timeout: 400_000 }, () => {
  it('a worker or API that dies is restarted and its sessions resume without a scan; with the supervisor killed, both exit within 30 s even with a subscriber that never closes', async () => {
    const dataDir = join(testStackEnv().dataDir, uniqueId('supervised'));
    const ports = {
      TEMPORAL_PORT: await findFreePort(),
      TEMPORAL_UI_PORT: await findFreePort(),
      LOCAL_PG_PORT: await findFreePort(),
      API_PORT: await findFreePort(),
    };
    const run = runStartScript({
      ...envWithoutStack(),
      DATA_DIR: dataDir,
      WA_ENGINE: 'simulated',
      // A killed host's sessions move once its leases lapse: seconds here, 45 s in production.
      SESSION_LEASE_TTL_MS: '6000',
      // Every step of the move is written (production keeps a quick move quiet): the events show it came back.
      ACCOUNT_TIMINGS: JSON.stringify({ hostMoveQuietMs: 0 }),
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    });
    const supervisorPid = run.child.pid as number;
    try {
      await run.ready;
      const apiUrl = `http://127.0.0.1:${ports.API_PORT}`;
      const adminKey = (await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim();
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: response.status, json: (await response.json().catch(() => null)) as Record<string, unknown> };
      };
      const workspaceId = uniqueId('ws');
      const created = await call('POST', `/v1/workspaces/${workspaceId}/accounts`, {});
      const sessionId = String(created.json.sessionId);
      const account = () => call('GET', `/v1/workspaces/${workspaceId}/accounts/${sessionId}`);
      await eventually(async () => ((await account()).json.qr ? true : undefined), 60_000, 'a QR');
      assert.equal(
        (await call('POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: randomPhone() })).status,
        200,
      );
      await eventually(
        async () => ((await account()).json.status === 'connected' ? true : undefined),
        60_000,
        'connected',
      );

      // The worker dies: restarted, and the session comes back from its saved login.
      const worker = serviceChild(supervisorPid, 'workers/main.ts');
      assert.ok(worker, 'a worker process');
      process.kill(worker, 'SIGKILL');
      await eventually(
        async () => (run.output().includes('worker exited; restarting') ? true : undefined),
        10_000,
        'the supervisor restarts the worker',
      );
      const restartedWorker = await eventually(
        async () => serviceChild(supervisorPid, 'workers/main.ts') ?? undefined,
        30_000,
        'a new worker process',
      );
      assert.notEqual(restartedWorker, worker);
      await eventually(
        async () => {
          const diagnostics = await call('GET', `/v1/workspaces/${workspaceId}/accounts/${sessionId}/diagnostics`);
          const types = ((diagnostics.json?.events ?? []) as { type: string }[]).map((event) => event.type);
          return types.includes('disconnected') && types.at(-1) === 'session_ready' ? types : undefined;
        },
        120_000,
        'the session connected again',
      ).then((types) => assert.equal(types.filter((type) => type === 'qr').length, 1, 'no new QR'));

      // The API dies: restarted, and it answers again.
      const apiPid = serviceChild(supervisorPid, 'api/main.ts');
      assert.ok(apiPid, 'an API process');
      process.kill(apiPid, 'SIGKILL');
      await eventually(
        async () => ((await fetch(`${apiUrl}/ready`).catch(() => null))?.status === 200 ? true : undefined),
        60_000,
        'the API answers again',
      );
      const api = serviceChild(supervisorPid, 'api/main.ts') as number;
      const host = serviceChild(supervisorPid, 'workers/main.ts') as number;

      // A subscriber that opens the stream and then never reads or answers again (a half-closed client).
      const subscriber = connect(ports.API_PORT, '127.0.0.1');
      await new Promise((resolve) => subscriber.once('connect', resolve));
      subscriber.write(
        [
          `GET /v1/stream?workspaceId=${workspaceId}&access_token=${adminKey} HTTP/1.1`,
          `Host: 127.0.0.1:${ports.API_PORT}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
      const upgraded = await new Promise<string>((resolve) =>
        subscriber.once('data', (chunk) => resolve(String(chunk))),
      );
      assert.match(upgraded, /^HTTP\/1\.1 101/);
      subscriber.pause();

      // The supervisor is killed outright: its children notice and are gone within a bounded time.
      const killedAt = Date.now();
      process.kill(supervisorPid, 'SIGKILL');
      await eventually(
        async () => (!isProcessAlive(api) && !isProcessAlive(host) ? true : undefined),
        30_000,
        'the API and the worker exit',
      );
      process.stderr.write(`[supervision] API and worker gone ${Date.now() - killedAt} ms after the supervisor\n`);
      subscriber.destroy();
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      // What the supervisor would have stopped in order: this stack's PostgreSQL and Temporal.
      for (const pid of processesOf(dataDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
});

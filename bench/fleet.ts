import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import {
  failedCount,
  openClientsByHost,
  overlappingOwners,
  qrEventCount,
  settled,
  timeAwayFromConnected,
} from '../infra/fleet-audit.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { createApiKey } from '../db/workspaces.js';
import type { ChildHandle } from '../lib/child-process.js';
import { findFreePort } from '../infra/ports.js';
import { startServiceProcess, waitForHttpOk } from '../infra/service-processes.js';
import { startPrivateStack, type TemporalTopology } from '../infra/stack.js';
import { createLogger } from '../lib/logger.js';
import { chromiumMemory, chromiumPids } from '../engine/real/chromium-memory.js';
import { FOLLOW_UP_SAVES_MS } from '../engine/real/postgres-auth.js';
import { cpuByPart, cpuSpent, type CpuSnapshot } from './cpu.js';
import { startCpuProfile } from './cpu-profile.js';
import { BENCH_SERVICE_ENV } from './service-env.js';
import { summarize } from './stats.js';
import { accountWorkflowId } from '../workflows/ids.js';

export interface FleetOptions {
  hosts: number;
  sessions: number;
  /** `real`: whatsapp-web.js in Chromium on the WhatsApp Web stand-in, each host with an engine folder of its own. */
  engine: 'simulated' | 'real';
  idleSeconds: number;
  topology: TemporalTopology;
  outDir: string;
  root: string;
  /** Profile one surviving host from the kill until the sessions are back (its inspector, on loopback). */
  profileMove?: boolean;
}

const WORKSPACE = 'bench-fleet';
/** The real engine, offline: the stand-in page for WhatsApp Web, and a Chromium that resolves no name. */
const REAL_ENGINE_ENV = { WA_ENGINE: 'real', WA_WEB: 'standin', CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND' };
const PREFIX = 'fleet-';

/**
 * `npm run bench -- --hosts N --sessions S`: N worker processes (hosts) share S connected sessions of the simulated
 * engine. Measured: how fast they connect, what keeping them idle costs each part per 1,000 sessions, a host killed
 * (until every one of its sessions runs on another host), then a rolling restart of every host (each drained with
 * SIGTERM and replaced), with the rescans, failures and double owners each must not have.
 */
export async function runFleet(options: FleetOptions): Promise<Record<string, unknown>> {
  const log = createLogger('bench', 'warn');
  const dataDir = join(options.root, '.data', `bench-fleet-${Date.now()}`);
  process.stderr.write(`[fleet] starting Temporal (${options.topology}) and PostgreSQL...\n`);
  const { stack, env: stackEnv } = await startPrivateStack({
    dataDir,
    durable: true,
    log,
    topology: options.topology,
  });
  const hosts: { handle: ChildHandle; logFile: string; name: string; engineDir: string }[] = [];
  let api: ChildHandle | null = null;
  let hostCount = 0;
  try {
    await migrate(stack.databaseUrl, log);
    const apiPort = await findFreePort();
    // A rolling restart drains at the pace the others absorb: the grace is what lets a host hand every session it may
    // hold over at that pace (10 a second, under the slowest restore pace measured at 10,000 sessions). After the
    // kill and during the restart one host may hold two thirds of the fleet's sessions, so the bound is all of them.
    const drainGraceMs = Math.max(25_000, Math.ceil(options.sessions / 10) * 1_000);
    const env = {
      ...stackEnv,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      ...BENCH_SERVICE_ENV,
      TASK_QUEUE: 'bench-fleet',
      API_PORT: String(apiPort),
      LOG_LEVEL: 'info',
      HOST_DRAIN_GRACE_MS: String(drainGraceMs),
    };
    const startHost = async (seats?: number) => {
      hostCount += 1;
      const logFile = join(dataDir, `host-${hostCount}.log`);
      // Each host its own machine: Chromium profiles never shared, logins move only through PostgreSQL.
      const engineDir = join(dataDir, `engine-host-${hostCount}`);
      const handle = startServiceProcess(
        'worker',
        options.engine === 'real'
          ? {
              ...env,
              ...REAL_ENGINE_ENV,
              ENGINE_DATA_DIR: engineDir,
              ...(seats ? { HOST_SESSION_CAPACITY: String(seats) } : {}),
            }
          : env,
        logFile,
      );
      const name = await hostQueueOf(handle, logFile);
      const host = { handle, logFile, name, engineDir };
      hosts.push(host);
      return host;
    };
    const live = () => hosts.filter((host) => host.handle.process.exitCode === null && !host.handle.process.signalCode);
    api = startServiceProcess(
      'api',
      options.engine === 'real' ? { ...env, ...REAL_ENGINE_ENV } : env,
      join(dataDir, 'api.log'),
    );
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHttpOk(`${baseUrl}/ready`, [api], 120_000);
    // Real engine: placement is first come, and a handful of sessions would all go to the first host to poll. Every
    // host but the last gets an equal share of seats, so the sessions spread; the last has room for a killed one's.
    const share = Math.ceil(options.sessions / options.hosts);
    for (let i = 0; i < options.hosts; i += 1) {
      await startHost(options.engine === 'real' && i < options.hosts - 1 ? share : undefined);
    }
    const pool = await createDatabasePool(stack.databaseUrl, { maximumPoolSize: 4 });
    const { key } = await createApiKey(pool, { workspaceId: null, name: 'bench fleet' });
    const http = async (method: string, path: string, body?: unknown) => {
      for (let attempt = 1; ; attempt += 1) {
        const response = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        if (response.ok) return;
        // A scan can come before the session shows its QR on a busy host: it is simply made again.
        if (attempt >= 240) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    const ids = Array.from({ length: options.sessions }, (_, i) => `${PREFIX}${i}`);

    // 1. Connect every session: created, then scanned as soon as it shows its QR (a QR left unscanned expires after
    // 5 minutes, as it would for a person), 50 at a time.
    process.stderr.write(`[fleet] connecting ${options.sessions} sessions on ${options.hosts} hosts...\n`);
    const connectStart = Date.now();
    const stackParts = () => ({
      ...Object.fromEntries(live().map((host, i) => [`host ${i + 1}`, host.handle.process.pid ?? 0])),
      api: api?.process.pid ?? 0,
    });
    const connectCpuBefore = cpuByPart(stackParts());
    await inFlight(ids, 50, async (sessionId, index) => {
      await http('POST', `/v1/workspaces/${WORKSPACE}/accounts`, { sessionId });
      await http('POST', `/v1/simulator/sessions/${sessionId}/scan`, {
        phone: `62822${String(index).padStart(7, '0')}`,
      });
      if (index % 1000 === 999) process.stderr.write(`[fleet]   ${index + 1} created and scanned\n`);
    });
    await waitForSettled(pool, options.sessions, 30 * 60_000);
    const connectSeconds = (Date.now() - connectStart) / 1000;
    const connectSpent = cpuSpent(connectCpuBefore, cpuByPart(stackParts()));
    const connectCpuMs = totalMs(connectSpent);
    const connectedAt = Date.now();
    const load = await openClientsByHost(pool, PREFIX);
    const perHost = [...load.values()].sort((a, b) => b - a);
    const qrEvents = await qrEventCount(pool, WORKSPACE);
    process.stderr.write(
      `[fleet] ${options.sessions} connected in ${connectSeconds.toFixed(0)} s (${perHost.join(', ')} per host)\n`,
    );

    // Chromium's memory per session on each host (the real engine).
    const chromium =
      options.engine === 'real'
        ? await Promise.all(
            live().map(async (host) => {
              const memory = await chromiumMemory(host.engineDir);
              const sessions = load.get(host.name) ?? 0;
              return {
                host: host.name,
                sessions,
                ...memory,
                pssPerSessionMb: sessions ? Math.round(memory.pssMb / sessions) : null,
              };
            }),
          )
        : null;

    // 2. Idle: what keeping them costs each part, per 1,000 sessions.
    process.stderr.write(`[fleet] idle: ${options.idleSeconds} s...\n`);
    // Idle is what connected sessions cost once nothing happens to them: for the real engine, after the last
    // session's follow-up login saves.
    const settleMs = options.engine === 'real' ? Math.max(...FOLLOW_UP_SAVES_MS) + 5_000 : 10_000;
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    // The real engine's Chromiums are parts of their own (`host N chromium`), so a host's Node and its browsers show apart.
    const chromiumParts = async () =>
      options.engine === 'real'
        ? Object.fromEntries(
            await Promise.all(
              live().map(async (host, i) => [`host ${i + 1} chromium`, await chromiumPids(host.engineDir)] as const),
            ),
          )
        : {};
    const idleParts = { ...stackParts(), ...(await chromiumParts()) };
    const before = cpuByPart(idleParts);
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    const idleSpent = cpuSpent(before, cpuByPart(idleParts));
    const percentPer1000 = (ms: number) =>
      Math.round((ms / (options.idleSeconds * 1000)) * 100 * (1000 / options.sessions) * 100) / 100;
    const idle = Object.fromEntries(Object.entries(idleSpent).map(([part, ms]) => [part, percentPer1000(ms)]));

    // 3. The host with the most sessions is killed: until every one of them runs on another host.
    const loadAtKill = await openClientsByHost(pool, PREFIX);
    // Real engine: the first host, whose seats are its share (the last one seats what it held).
    const victim =
      options.engine === 'real'
        ? (live()[0] as (typeof hosts)[number])
        : live().reduce((a, b) => ((loadAtKill.get(a.name) ?? 0) >= (loadAtKill.get(b.name) ?? 0) ? a : b));
    const orphaned = loadAtKill.get(victim.name) ?? 0;
    process.stderr.write(`[fleet] killing a host holding ${orphaned} sessions...\n`);
    // What the restores cost the survivors and the servers, less what the same time idle costs them.
    const restoreCpuBefore = cpuByPart(stackParts());
    // The survivors' CPU every second until the sessions are back: what they spend while the killed host's leases
    // run out, before any move, is their idle in this same window (the idle measured above counted the killed host).
    const afterKill: { at: number; cpu: CpuSnapshot }[] = [];
    const sampler = setInterval(() => afterKill.push({ at: Date.now(), cpu: cpuByPart(stackParts()) }), 1_000);
    const profiled = options.profileMove ? live().find((host) => host !== victim) : undefined;
    const moveProfile = profiled ? await startCpuProfile(profiled.handle.process.pid ?? 0) : null;
    const killedAt = Date.now();
    victim.handle.process.kill('SIGKILL');
    await victim.handle.exited;
    // The machine is gone with its process: so are the Chromiums a SIGKILLed worker would leave behind.
    for (const pid of await chromiumPids(victim.engineDir)) process.kill(pid, 'SIGKILL');
    // A fleet of one has no other host: its replacement takes the sessions, as a restarted machine's host would.
    const replacedAtOnce = live().length === 0;
    if (replacedAtOnce) await startHost();
    // Its clients count as running until its leases run out; then every session must run on another host.
    await waitForSettled(pool, options.sessions, 30 * 60_000, victim.name);
    // A session counts once its new client runs; its workflow's last task of the move may still be on its way, and
    // a quiet move writes no row to wait for. Its CPU is read after a short tail (the idle subtracted covers it).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    clearInterval(sampler);
    const moveProfilePath = join(
      options.outDir,
      `bench-fleet-move-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
    );
    const hostProfile = moveProfile ? await moveProfile.stop(moveProfilePath) : null;
    const profiledTook = profiled
      ? ((await openClientsByHost(pool, PREFIX)).get(profiled.name) ?? 0) - (loadAtKill.get(profiled.name) ?? 0)
      : 0;
    const restoredInSeconds = (Date.now() - killedAt) / 1000;
    const restoreSpent = cpuSpent(restoreCpuBefore, cpuByPart(stackParts()));
    const restores = await restoreTimes(pool, victim.name, killedAt);
    // Idle per second by kind of process: the survivors' between 5 s after the kill and 5 s before the first move,
    // or, when that window is under 5 s, the whole stack's idle measured before the kill.
    const windowStart = afterKill.find((sample) => sample.at >= killedAt + 5_000);
    const windowEnd = afterKill.filter((sample) => sample.at <= killedAt + restores.firstSeconds * 1000 - 5_000).at(-1);
    const idleWindow =
      windowStart && windowEnd && windowEnd.at - windowStart.at >= 5_000
        ? {
            seconds: (windowEnd.at - windowStart.at) / 1000,
            spent: byKind(cpuSpent(windowStart.cpu, windowEnd.cpu)),
          }
        : { seconds: options.idleSeconds, spent: byKind(idleSpent) };
    // A move's CPU by kind of process, each less its own idle over the restore: beside a first connection's.
    const restoreByKind = Object.fromEntries(
      Object.entries(byKind(restoreSpent)).map(([kind, ms]) => [
        kind,
        Math.max(0, ms - ((idleWindow.spent[kind] ?? 0) / idleWindow.seconds) * restoredInSeconds),
      ]),
    );
    const restoreCpuMs = totalMs(restoreByKind);
    const movedIds = (await movedSessions(pool, victim.name, killedAt)).slice(0, 200);
    const tasks = await workflowTasksOf(stack.temporalAddress, movedIds, { connectedAt, killedAt });
    const killAway = await timeAwayFromConnected(pool, WORKSPACE, killedAt);
    const killOverlaps = await overlappingOwners(pool, PREFIX, { host: victim.name, at: killedAt });
    const killAwaySeconds = await awayFromConnected(pool, killedAt);
    const killWithoutAClient = await withoutAClient(pool, killedAt, { host: victim.name, at: killedAt });
    if (!replacedAtOnce) await startHost();

    // 4. Rolling restart: each host drained (SIGTERM), then replaced, once the others run every session.
    process.stderr.write(`[fleet] rolling restart of ${live().length} hosts...\n`);
    const rollingAt = Date.now();
    const steps: { held: number; drainedInSeconds: number; settledInSeconds: number }[] = [];
    for (const host of live()) {
      const held = (await openClientsByHost(pool, PREFIX)).get(host.name) ?? 0;
      const stepAt = Date.now();
      await host.handle.stop('SIGTERM', drainGraceMs + 120_000);
      const drainedInSeconds = (Date.now() - stepAt) / 1000;
      await startHost();
      await waitForSettled(pool, options.sessions, 30 * 60_000);
      steps.push({ held, drainedInSeconds, settledInSeconds: (Date.now() - stepAt) / 1000 });
      process.stderr.write(`[fleet]   ${held} sessions moved in ${steps.at(-1)?.settledInSeconds.toFixed(0)} s\n`);
    }
    const rollingAway = await timeAwayFromConnected(pool, WORKSPACE, rollingAt);

    const result = {
      when: new Date().toISOString(),
      command: `npm run bench -- --hosts ${options.hosts} --sessions ${options.sessions} --idle ${options.idleSeconds} --topology ${options.topology}${options.engine === 'real' ? ' --engine real' : ''}`,
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
      },
      hosts: options.hosts,
      sessions: options.sessions,
      engine: options.engine === 'real' ? 'real (whatsapp-web.js, Chromium, WhatsApp Web stand-in)' : 'simulated',
      ...(chromium ? { chromiumMemoryByHost: chromium } : {}),
      connect: {
        seconds: Math.round(connectSeconds),
        sessionsPerSecond: Math.round((options.sessions / connectSeconds) * 10) / 10,
        sessionsPerHost: perHost,
      },
      idlePercentOfOneCorePer1000Sessions: idle,
      hostKilled: {
        sessions: orphaned,
        allConnectedElsewhereInSeconds: Math.round(restoredInSeconds),
        firstRestoreAfterSeconds: restores.firstSeconds,
        restoresPerSecond: restores.perSecond,
        // Against the same fleet's first connections in this run (scan included): the restore storm's pace.
        ratioRestoresOverFirstConnectionsPerSecond:
          Math.round((restores.perSecond / (options.sessions / connectSeconds)) * 100) / 100,
        longestAwayFromConnectedSeconds: Math.round(killAway.longestMs / 1000),
        awayFromConnectedSeconds: killAwaySeconds,
        // A move back within hostMoveQuietMs writes no row: the time each session ran no client says what it lost.
        withoutAClientSeconds: killWithoutAClient,
        twoOwners: killOverlaps.length,
        // Whole stack's CPU per session, above what the same time idle costs: a move against a first connection.
        cpuMsPerRestore: Math.round(restoreCpuMs / Math.max(1, orphaned)),
        cpuMsPerFirstConnection: Math.round(connectCpuMs / options.sessions),
        cpuMsPerRestoreByProcess: perSession(restoreByKind, Math.max(1, orphaned)),
        // The idle subtracted from the restore's CPU: the survivors' own, measured while the leases ran out.
        idleSubtracted: {
          measuredOverSeconds: Math.round(idleWindow.seconds),
          percentOfOneCore: Object.fromEntries(
            Object.entries(idleWindow.spent).map(([kind, ms]) => [
              kind,
              Math.round((ms / idleWindow.seconds / 10) * 100) / 100,
            ]),
          ),
        },
        cpuMsPerFirstConnectionByProcess: perSession(byKind(connectSpent), options.sessions),
        ratioRestoreOverFirstConnectionCpu:
          Math.round((restoreCpuMs / Math.max(1, orphaned) / (connectCpuMs / options.sessions)) * 100) / 100,
        ...(hostProfile && profiled
          ? {
              survivingHostProfile: {
                host: profiled.name,
                sessionsItTook: profiledTook,
                cpuprofile: moveProfilePath,
                ...hostProfile,
              },
            }
          : {}),
        // From the moved sessions' histories (up to 200): workflow tasks completed for the move and for the first
        // connection (create to connected) of the same sessions.
        workflowTasksPerMove: tasks.perMove,
        workflowTasksPerFirstConnection: tasks.perFirstConnection,
      },
      rollingRestart: {
        seconds: Math.round((Date.now() - rollingAt) / 1000),
        drainGraceSeconds: drainGraceMs / 1000,
        steps,
        accountsMoved: rollingAway.accountsAway,
        longestAwayFromConnectedSeconds: Math.round(rollingAway.longestMs / 1000),
        awayFromConnectedSeconds: await awayFromConnected(pool, rollingAt),
        withoutAClientSeconds: await withoutAClient(pool, rollingAt),
      },
      rescans: (await qrEventCount(pool, WORKSPACE)) - qrEvents,
      failed: await failedCount(pool, WORKSPACE),
      twoOwners: (await overlappingOwners(pool, PREFIX, { host: victim.name, at: killedAt })).length,
      lost: options.sessions - (await connectedCount(pool)),
    };
    await mkdir(options.outDir, { recursive: true });
    const file = join(options.outDir, `bench-fleet-${result.when.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(result, null, 2));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n(written to ${file})\n`);
    await pool.end();
    return result;
  } finally {
    for (const host of hosts) await host.handle.stop('SIGTERM', 60_000);
    await api?.stop('SIGTERM', 30_000);
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function totalMs(spent: Record<string, number>): number {
  return Object.values(spent).reduce((sum, ms) => sum + ms, 0);
}

/** CPU by kind of process: every host (with its Chromiums) as `hosts`, the API, Temporal, PostgreSQL. */
function byKind(spent: Record<string, number>): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const [part, ms] of Object.entries(spent)) {
    const kind = part.startsWith('host ') ? 'hosts' : part;
    kinds[kind] = (kinds[kind] ?? 0) + ms;
  }
  return kinds;
}

function perSession(byProcess: Record<string, number>, sessions: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(byProcess).map(([kind, ms]) => [kind, Math.round((ms / sessions) * 10) / 10]),
  );
}

/** The sessions whose client started on another host after the kill: the ones the kill moved. */
async function movedSessions(pool: DatabasePool, deadHost: string, killedAt: number): Promise<string[]> {
  const ids = await pool.anyFirst(sql.type(z.object({ session_id: z.string() }))`
    SELECT DISTINCT split_part(c.session_id, '.', 2) AS session_id FROM session_clients c
    WHERE split_part(c.session_id, '.', 2) LIKE ${`${PREFIX}%`} AND c.host <> ${deadHost}
      AND c.started_at >= to_timestamp(${killedAt / 1000})
  `);
  return [...ids];
}

/**
 * Workflow tasks completed in each moved session's history: after the kill (the move) and before the fleet was
 * connected (the first connection), the mean of each. The histories' payloads stay sealed: only event types and
 * times are read.
 */
async function workflowTasksOf(
  temporalAddress: string,
  sessionIds: string[],
  at: { connectedAt: number; killedAt: number },
): Promise<{ perMove: number | null; perFirstConnection: number | null }> {
  if (sessionIds.length === 0) return { perMove: null, perFirstConnection: null };
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    let move = 0;
    let first = 0;
    for (const sessionId of sessionIds) {
      const history = await client.workflow.getHandle(accountWorkflowId(WORKSPACE, sessionId)).fetchHistory();
      for (const event of history.events ?? []) {
        if (event.workflowTaskCompletedEventAttributes == null) continue;
        const ms = Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
        if (ms >= at.killedAt) move += 1;
        else if (ms <= at.connectedAt) first += 1;
      }
    }
    const mean = (count: number) => Math.round((count / sessionIds.length) * 10) / 10;
    return { perMove: mean(move), perFirstConnection: mean(first) };
  } finally {
    await connection.close();
  }
}

/** The host's own task queue (its name in leases and the client audit), from its start line. */
async function hostQueueOf(handle: ChildHandle, logFile: string): Promise<string> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (handle.process.exitCode !== null) throw new Error(`a host exited while starting; see ${logFile}`);
    const line = (await readFile(logFile, 'utf8').catch(() => ''))
      .split('\n')
      .find((text) => text.includes('"msg":"worker running"'));
    if (line) return (JSON.parse(line) as { hostTaskQueue: string }).hostTaskQueue;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`a host did not start within 120 s; see ${logFile}`);
}

/** Runs every item with at most `size` in flight: a new one starts as soon as any ends. */
async function inFlight(items: string[], size: number, run: (id: string, index: number) => Promise<unknown>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await run(items[index] as string, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, lane));
}

async function waitForSettled(pool: DatabasePool, sessions: number, timeoutMs: number, goneHost?: string) {
  const deadline = Date.now() + timeoutMs;
  const elsewhere = async () => !goneHost || !(await openClientsByHost(pool, PREFIX)).has(goneHost);
  while (!((await elsewhere()) && (await settled(pool, WORKSPACE, PREFIX, sessions)))) {
    if (Date.now() > deadline) throw new Error(`the ${sessions} sessions did not settle within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

const countSchema = z.object({ n: z.number() });

async function connectedCount(pool: DatabasePool): Promise<number> {
  return pool.oneFirst(sql.type(countSchema)`
    SELECT count(*)::int8 AS n FROM whatsapp_accounts WHERE workspace_id = ${WORKSPACE} AND status = 'connected'
  `);
}

/**
 * When the killed host's sessions started on other hosts (their new clients in the audit): the first one after the
 * kill, and the pace from the first to the last.
 */
async function restoreTimes(pool: DatabasePool, deadHost: string, killedAt: number) {
  const starts = await pool.anyFirst(sql.type(z.object({ started_at: z.number() }))`
    SELECT c.started_at FROM session_clients c
    WHERE split_part(c.session_id, '.', 2) LIKE ${`${PREFIX}%`} AND c.host <> ${deadHost} AND c.started_at >= to_timestamp(${killedAt / 1000})
    ORDER BY c.started_at
  `);
  const first = starts[0] ?? killedAt;
  const last = starts.at(-1) ?? killedAt;
  return {
    firstSeconds: Math.round((first - killedAt) / 100) / 10,
    perSecond: Math.round((starts.length / Math.max(0.001, (last - first) / 1000)) * 10) / 10,
  };
}

/** How long each account stayed away from `connected` each time it left it since `sinceMs` (seconds). */
async function awayFromConnected(pool: DatabasePool, sinceMs: number) {
  const away = await pool.anyFirst(sql.type(z.object({ seconds: z.number() }))`
    SELECT EXTRACT(EPOCH FROM min(up.occurred_at) - down.occurred_at)::float8 AS seconds
    FROM account_events down JOIN account_events up
      ON up.session_id = down.session_id AND up.id > down.id AND up.status = 'connected'
    WHERE down.workspace_id = ${WORKSPACE} AND down.status = 'disconnected'
      AND down.occurred_at >= to_timestamp(${sinceMs / 1000})
    GROUP BY down.id, down.occurred_at
  `);
  return away.length > 0 ? summarize([...away]) : null;
}

/**
 * For each client of the fleet's sessions that started since `sinceMs` after an earlier one: how long the session ran
 * no client in between (the earlier one's end, or for a killed host's clients the kill, to the later one's start).
 */
async function withoutAClient(pool: DatabasePool, sinceMs: number, killed?: { host: string; at: number }) {
  const gaps = await pool.anyFirst(sql.type(z.object({ seconds: z.number() }))`
    SELECT EXTRACT(EPOCH FROM later.started_at - COALESCE(
             earlier.ended_at,
             CASE WHEN earlier.host = ${killed?.host ?? ''} THEN to_timestamp(${(killed?.at ?? 0) / 1000}) END,
             later.started_at))::float8 AS seconds
    FROM session_clients later
    JOIN LATERAL (
      SELECT host, ended_at FROM session_clients e
      WHERE e.session_id = later.session_id AND e.id < later.id ORDER BY e.id DESC LIMIT 1
    ) earlier ON true
    WHERE split_part(later.session_id, '.', 2) LIKE ${`${PREFIX}%`}
      AND later.started_at >= to_timestamp(${sinceMs / 1000})
  `);
  return gaps.length > 0 ? summarize(gaps.map((seconds) => Math.max(0, seconds))) : null;
}

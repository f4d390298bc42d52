import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { sql } from 'slonik';
import WebSocket from 'ws';
import { z } from 'zod';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { createApiKey } from '../db/workspaces.js';
import { findFreePort } from '../infra/ports.js';
import { startServiceProcess, waitForHttpOk } from '../infra/service-processes.js';
import { startPrivateStack, type TemporalTopology } from '../infra/stack.js';
import { waitForWorkflowPoller } from '../infra/wait-for-worker.js';
import { createLogger } from '../lib/logger.js';
import { accountWorkflowId } from '../workflows/ids.js';
import { baselineRoundTrip } from './baseline-workflow.js';
import { cpuByPart, cpuSpent } from './cpu.js';
import { startCpuProfile } from './cpu-profile.js';
import { BENCH_SERVICE_ENV } from './service-env.js';
import { runChromium } from './chromium.js';
import { runFleet } from './fleet.js';
import { plotDistributions } from './plot.js';
import { summarize, type Summary } from './stats.js';

/**
 * `npm run bench`: the full stack (real Temporal dev server, real PostgreSQL, one worker and one API process,
 * simulated engine with no artificial delays) measured from the outside, as a backend and a browser see it.
 *   --samples N    sequential accounts for the latency figures (default 100)
 *   --baseline N   bare Temporal round trips, the floor (default 200)
 *   --accounts N   accounts created and scanned at once (default 100; try 500, 1000)
 *   --workspaces N the accounts scanned at once spread over N workspaces (default 1: all in one, whose writes queue
 *                  on its lock)
 *   --idle S       seconds of the idle measurement, every account connected (default 60)
 *   --topology T   `dev` (the CLI's dev server on SQLite), `server` (Temporal's server on PostgreSQL) or `both`, one
 *                  after the other in this run, compared side by side (default: TEMPORAL_TOPOLOGY, else dev)
 *   --profile-connect  profile the worker and the API over the scan phase (their inspectors, on loopback): CPU by
 *                  thread, by package and by function, and `.cpuprofile` files beside the results
 *   --hosts N      the fleet instead (bench/fleet.ts): N worker processes holding --sessions S connected sessions
 *                  (default 1,000), idle cost, a host killed, a rolling restart; `--engine real` runs whatsapp-web.js
 *                  in Chromium on the WhatsApp Web stand-in, with each host's Chromium memory per session
 *   --chromium N   N sessions' Chromium on the stand-in: processes, memory and idle CPU (over --idle) per session with
 *                  the engine's flags against the untrimmed ones, one Chromium with a context each, a WhatsApp
 *                  Web-sized page; and whether a profile keeps its storage across a restart
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '100' },
    baseline: { type: 'string', default: '200' },
    accounts: { type: 'string', default: '100' },
    workspaces: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench-results' },
    topology: { type: 'string', default: process.env.TEMPORAL_TOPOLOGY ?? 'dev' },
    idle: { type: 'string', default: '60' },
    hosts: { type: 'string' },
    sessions: { type: 'string', default: '1000' },
    engine: { type: 'string', default: 'simulated' },
    chromium: { type: 'string' },
    'profile-move': { type: 'boolean', default: false },
    'profile-connect': { type: 'boolean', default: false },
  },
});
const SAMPLES = Number(values.samples);
const BASELINE = Number(values.baseline);
const ACCOUNTS = Number(values.accounts);
const WORKSPACES = Number(values.workspaces);
if (!Number.isInteger(WORKSPACES) || WORKSPACES < 1)
  throw new Error(`--workspaces must be a positive integer, not ${values.workspaces}`);
/** The workspace of the i-th account scanned at once: one, or round robin over --workspaces. */
const loadWorkspaceOf = (index: number) => (WORKSPACES === 1 ? 'bench-load' : `bench-load-${index % WORKSPACES}`);
const LOAD_WORKSPACES = Array.from({ length: Math.min(ACCOUNTS, WORKSPACES) }, (_, i) => loadWorkspaceOf(i));
const WARMUP = 10;
const TOPOLOGIES: TemporalTopology[] =
  values.topology === 'both' ? ['dev', 'server'] : values.topology === 'server' ? ['server'] : ['dev'];

interface StreamEvent {
  id: number;
  type: string;
  sessionId: string;
  data: Record<string, unknown>;
}

async function main() {
  const outDir = join(ROOT, values.out);
  await mkdir(outDir, { recursive: true });
  if (values.chromium) {
    await runChromium({ sessions: Number(values.chromium), idleSeconds: IDLE_SECONDS, outDir });
    return;
  }
  if (values.hosts) {
    await runFleet({
      hosts: Number(values.hosts),
      sessions: Number(values.sessions),
      engine: values.engine === 'real' ? 'real' : 'simulated',
      idleSeconds: IDLE_SECONDS,
      topology: TOPOLOGIES[0] ?? 'dev',
      outDir,
      root: ROOT,
      profileMove: values['profile-move'],
    });
    return;
  }
  const results: Array<Record<string, unknown>> = [];
  for (const topology of TOPOLOGIES) results.push(await runTopology(topology, outDir));
  if (results.length > 1) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await writeFile(join(outDir, `bench-topologies-${stamp}.json`), JSON.stringify(results, null, 2));
    printComparison(results);
  }
}

async function runTopology(topology: TemporalTopology, outDir: string): Promise<Record<string, unknown>> {
  const log = createLogger('bench', 'warn');
  const dataDir = join(ROOT, '.data', `bench-${topology}-${Date.now()}`);
  process.stderr.write(`[${topology}] starting Temporal and PostgreSQL...\n`);
  const profiling = values['profile-connect'];
  const { stack, env: env0 } = await startPrivateStack({
    dataDir,
    durable: true,
    log,
    topology,
    statementStatistics: profiling,
  });
  const children: ReturnType<typeof startServiceProcess>[] = [];
  try {
    await migrate(stack.databaseUrl, log);
    if (profiling) {
      const admin = await createDatabasePool(stack.databaseUrl, { maximumPoolSize: 1 });
      await admin.query(sql.unsafe`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
      await admin.end();
    }
    const apiPort = await findFreePort();
    const env = {
      ...env0,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      ...BENCH_SERVICE_ENV,
      TASK_QUEUE: 'bench-accounts',
      API_PORT: String(apiPort),
      LOG_LEVEL: 'warn',
    };
    // Profiled, each opens its inspector on a port of its own (on SIGUSR1, at the scan phase only).
    const inspectorPorts = profiling ? { worker: await findFreePort(), api: await findFreePort() } : null;
    const inherited: NodeJS.ProcessEnv = env;
    const withInspector = (port: number | undefined) =>
      port ? { NODE_OPTIONS: `${inherited.NODE_OPTIONS ?? ''} --inspect-port=127.0.0.1:${port}`.trim() } : {};
    const worker = startServiceProcess(
      'worker',
      { ...env, ...withInspector(inspectorPorts?.worker) },
      join(dataDir, 'worker.log'),
    );
    const api = startServiceProcess('api', { ...env, ...withInspector(inspectorPorts?.api) }, join(dataDir, 'api.log'));
    children.push(worker, api);
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHttpOk(`${baseUrl}/ready`, children, 120_000);
    await waitForWorkflowPoller(stack.temporalAddress, 'default', 'bench-accounts', 120_000);
    const pool = await createDatabasePool(stack.databaseUrl, { maximumPoolSize: 4 });
    const { key } = await createApiKey(pool, { workspaceId: null, name: 'bench' });
    const http = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, unknown>>;
    };

    // 1. The floor: a bare workflow with one no-op activity on the same server.
    process.stderr.write(`[${topology}] baseline: ${BASELINE} bare Temporal round trips...\n`);
    const {
      samples: baseline,
      temporalCpuMsPerRoundTrip,
      postgresCpuMsPerRoundTrip,
    } = await measureBaseline(stack.temporalAddress);

    // What the stack holds before any account: the storage figures count what accounts add.
    const storageBefore = await storageBytes(pool, dataDir);

    // 2. Latency, one account at a time, seen by a WebSocket subscriber.
    process.stderr.write(`[${topology}] latency: ${SAMPLES} accounts one after another...\n`);
    const stream = await openStream(baseUrl, key, 'bench-latency');
    const qrToSubscriber: number[] = [];
    const scanToConnected: number[] = [];
    for (let i = 0; i < SAMPLES + WARMUP; i += 1) {
      const sessionId = `lat-${i}`;
      const qr = stream.next(sessionId, 'qr');
      const ready = stream.next(sessionId, 'session_ready');
      await http('POST', '/v1/workspaces/bench-latency/accounts', { sessionId });
      const qrEvent = await qr;
      const scanAt = Date.now();
      await http('POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: `62800${String(i).padStart(7, '0')}` });
      const readyEvent = await ready;
      if (i >= WARMUP) {
        qrToSubscriber.push(qrEvent.receivedAt - Number(qrEvent.event.data.emittedAt));
        scanToConnected.push(readyEvent.receivedAt - scanAt);
      }
    }
    stream.close();

    // 3. Concurrency: N accounts at once, in one workspace (or spread over --workspaces).
    process.stderr.write(
      `[${topology}] concurrency: ${ACCOUNTS} accounts in ${LOAD_WORKSPACES.length} workspace(s) created and scanned at once...\n`,
    );
    const parts = { worker: worker.process.pid ?? 0, api: api.process.pid ?? 0, 'load generator': process.pid };
    const concurrency = await measureConcurrency(baseUrl, key, http, pool, parts, join(dataDir, 'worker.log'), {
      inspectorPorts,
      profilePrefix: join(outDir, `bench-${topology}-${new Date().toISOString().replace(/[:.]/g, '-')}`),
    });
    const temporalPerConnection = await historyPerConnection(stack.temporalAddress, ACCOUNTS);

    // 4. Idle: every account connected and nothing happening. What keeping them costs each part, per 1,000.
    process.stderr.write(`[${topology}] idle: ${IDLE_SECONDS} s with every account connected...\n`);
    const idle = await measureIdle(pool, parts);

    const baselineSummary = summarize(baseline);
    const scanSummary = summarize(scanToConnected);
    const qrSummary = summarize(qrToSubscriber);
    const machine = {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      temporalCli: await temporalCliVersion(),
      postgres: await pool.oneFirst(sql.type(z.object({ version: z.string() }))`SELECT version()`),
    };
    const storageAfter = await storageBytes(pool, dataDir);
    const accountsMade = SAMPLES + WARMUP + ACCOUNTS;
    const result = {
      when: new Date().toISOString(),
      command: `npm run bench -- --samples ${SAMPLES} --baseline ${BASELINE} --accounts ${ACCOUNTS}${WORKSPACES === 1 ? '' : ` --workspaces ${WORKSPACES}`} --topology ${topology}`,
      topology,
      machine,
      // What the run left on disk per 1,000 accounts (every account made, connected, with its events and history).
      storageMbPer1000Accounts: {
        service: mb(((storageAfter.service - storageBefore.service) * 1000) / accountsMade),
        temporal: mb(((storageAfter.temporal - storageBefore.temporal) * 1000) / accountsMade),
      },
      baselineMs: baselineSummary,
      // The server's CPU for one bare round trip: the unit in which a connection's server work is counted.
      baselineTemporalCpuMsPerRoundTrip: temporalCpuMsPerRoundTrip,
      // PostgreSQL's over the same round trips: on the production server, Temporal's persistence (on the dev server,
      // SQLite runs inside Temporal's process and this is the service's own idle).
      baselinePostgresCpuMsPerRoundTrip: postgresCpuMsPerRoundTrip,
      scanToConnectedMs: scanSummary,
      qrToSubscriberMs: qrSummary,
      ratioScanToConnectedOverBaseline: {
        p50: scanSummary.p50 / baselineSummary.p50,
        p95: scanSummary.p95 / baselineSummary.p95,
        p99: scanSummary.p99 / baselineSummary.p99,
      },
      concurrency,
      temporalPerConnection,
      idle,
      // Every sample, so the distributions can be drawn again or compared with another run.
      samplesMs: { scanToConnected, qrToSubscriber, baseline },
    };
    const stamp = result.when.replace(/[:.]/g, '-');
    await writeFile(join(outDir, `bench-${stamp}.json`), JSON.stringify(result, null, 2));
    await plotDistributions(
      [
        { name: 'scan → connected (row connected and WebSocket subscriber has the event)', samplesMs: scanToConnected },
        { name: 'QR emitted by the engine → WebSocket subscriber', samplesMs: qrToSubscriber },
        { name: 'baseline: bare Temporal workflow + one no-op activity', samplesMs: baseline },
      ],
      `wa-connect latency, ${machine.cores} cores / ${machine.memoryGiB} GiB, ${new Date().toISOString().slice(0, 10)}`,
      `${machine.cpu}; Node ${machine.node}; ${machine.temporalCli}; ${machine.postgres.split(' on ')[0]?.replace(/ \(.*\)$/, '')}`,
      join(outDir, `bench-${stamp}.png`),
      process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    );
    printTable(result, baselineSummary, scanSummary, qrSummary, join(outDir, `bench-${stamp}`));
    await pool.end();
    return result;
  } finally {
    for (const child of children.reverse()) await child.stop('SIGTERM', 30_000);
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function measureBaseline(
  address: string,
): Promise<{ samples: number[]; temporalCpuMsPerRoundTrip: number; postgresCpuMsPerRoundTrip: number }> {
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: native,
    taskQueue: 'bench-baseline',
    workflowsPath: fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url)),
    activities: { noop: async () => undefined },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const samples: number[] = [];
  let temporalCpuMs: number;
  let postgresCpuMs: number;
  let temporalBefore = cpuByPart({});
  try {
    for (let i = 0; i < BASELINE + WARMUP; i += 1) {
      if (i === WARMUP) temporalBefore = cpuByPart({});
      const startedAt = performance.now();
      await client.workflow.execute(baselineRoundTrip, {
        taskQueue: 'bench-baseline',
        workflowId: `baseline-${i}-${Date.now()}`,
      });
      if (i >= WARMUP) samples.push(performance.now() - startedAt);
    }
    const spent = cpuSpent(temporalBefore, cpuByPart({}));
    temporalCpuMs = spent.temporal ?? 0;
    postgresCpuMs = spent.postgres ?? 0;
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await native.close();
  }
  const perRoundTrip = (ms: number) => Math.round((ms / Math.max(1, BASELINE)) * 10) / 10;
  return {
    samples,
    temporalCpuMsPerRoundTrip: perRoundTrip(temporalCpuMs),
    postgresCpuMsPerRoundTrip: perRoundTrip(postgresCpuMs),
  };
}

/** A WebSocket subscriber that hands out the first event of a type for a session, with when it arrived. */
async function openStream(baseUrl: string, key: string, workspaceId: string) {
  const socket = new WebSocket(
    `${baseUrl.replace('http', 'ws')}/v1/stream?workspaceId=${workspaceId}&access_token=${key}`,
  );
  const seen = new Map<string, { event: StreamEvent; receivedAt: number }>();
  const waiting = new Map<string, (value: { event: StreamEvent; receivedAt: number }) => void>();
  socket.on('message', (data) => {
    const receivedAt = Date.now();
    const event = JSON.parse((data as Buffer).toString('utf8')) as StreamEvent;
    if (typeof event.id !== 'number') return;
    const slot = `${event.sessionId}/${event.type}`;
    if (seen.has(slot)) return;
    seen.set(slot, { event, receivedAt });
    waiting.get(slot)?.({ event, receivedAt });
  });
  await new Promise((resolve, reject) => {
    socket.once('message', resolve);
    socket.once('error', reject);
  });
  return {
    next: (sessionId: string, type: string) =>
      new Promise<{ event: StreamEvent; receivedAt: number }>((resolve) => {
        const slot = `${sessionId}/${type}`;
        const already = seen.get(slot);
        if (already) resolve(already);
        else waiting.set(slot, resolve);
      }),
    count: (type: string) => [...seen.keys()].filter((slot) => slot.endsWith(`/${type}`)).length,
    close: () => socket.close(),
  };
}

async function measureConcurrency(
  baseUrl: string,
  key: string,
  http: (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>,
  pool: Awaited<ReturnType<typeof createDatabasePool>>,
  parts: { worker: number; api: number } & Record<string, number>,
  workerLog: string,
  profiling: { inspectorPorts: { worker: number; api: number } | null; profilePrefix: string },
) {
  const workerPid = parts.worker;
  const streams = new Map(
    await Promise.all(
      LOAD_WORKSPACES.map(async (workspaceId) => [workspaceId, await openStream(baseUrl, key, workspaceId)] as const),
    ),
  );
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `load-${i}`);
  const streamOf = (index: number) => streams.get(loadWorkspaceOf(index)) as Awaited<ReturnType<typeof openStream>>;
  /** Runs every item with at most `size` requests in flight: a new one starts as soon as any answers, no batch barrier. */
  const inFlight = async (items: string[], size: number, run: (id: string, index: number) => Promise<unknown>) => {
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const index = next++;
        await run(items[index] as string, index);
      }
    };
    await Promise.all(Array.from({ length: Math.min(size, items.length) }, lane));
  };
  const rssBefore = rssMb(workerPid);
  await inFlight(ids, 50, (sessionId, index) =>
    http('POST', `/v1/workspaces/${loadWorkspaceOf(index)}/accounts`, { sessionId }),
  );
  await Promise.all(ids.map((id, index) => streamOf(index).next(id, 'qr')));
  const readies = ids.map((id, index) => streamOf(index).next(id, 'session_ready'));
  const { inspectorPorts, profilePrefix } = profiling;
  const profiles = inspectorPorts
    ? {
        worker: await startCpuProfile(parts.worker, inspectorPorts.worker),
        api: await startCpuProfile(parts.api, inspectorPorts.api),
      }
    : null;
  if (profiles) await pool.query(sql.unsafe`SELECT pg_stat_statements_reset()`);
  const cpuBefore = cpuByPart(parts);
  const scanStart = Date.now();
  await inFlight(ids, 100, (sessionId, index) =>
    http('POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: `62811${String(index).padStart(7, '0')}` }),
  );
  const settled = await Promise.race([
    Promise.all(readies).then((all) => Math.max(...all.map((r) => r.receivedAt))),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 10 * 60_000)),
  ]);
  const cpuMs = cpuSpent(cpuBefore, cpuByPart(parts));
  // Where the worker's and the API's CPU went in the scan phase: by thread, and on the main thread by package and
  // function (the `.cpuprofile` files open in Chrome's DevTools or speedscope).
  const scanProfile = profiles
    ? {
        worker: { cpuprofile: `${profilePrefix}-worker.cpuprofile` },
        api: { cpuprofile: `${profilePrefix}-api.cpuprofile` },
      }
    : null;
  const profileOf = scanProfile
    ? {
        worker: { ...scanProfile.worker, ...(await profiles?.worker.stop(scanProfile.worker.cpuprofile)) },
        api: { ...scanProfile.api, ...(await profiles?.api.stop(scanProfile.api.cpuprofile)) },
        postgres: await statementsPerConnection(pool, ACCOUNTS),
      }
    : null;
  const rssAfter = rssMb(workerPid);
  const inLoadWorkspaces = sql.fragment`workspace_id = ANY(${sql.array(LOAD_WORKSPACES, 'text')})`;
  const connected = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM whatsapp_accounts WHERE ${inLoadWorkspaces} AND status = 'connected' AND deleted_at IS NULL
  `);
  const duplicated = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM (SELECT workspace_id, phone_number FROM whatsapp_accounts WHERE ${inLoadWorkspaces} AND deleted_at IS NULL AND phone_number IS NOT NULL GROUP BY workspace_id, phone_number HAVING count(*) > 1) d
  `);
  const primaries = await pool.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`SELECT count(*)::int8 AS n FROM whatsapp_accounts WHERE ${inLoadWorkspaces} AND is_primary`,
  );
  const constraintErrors = (
    (await readFile(workerLog, 'utf8').catch(() => '')).match(
      /IntegrityConstraintViolation|violates unique constraint|duplicate key/gi,
    ) ?? []
  ).length;
  for (const stream of streams.values()) stream.close();
  const seconds = settled === null ? null : (settled - scanStart) / 1000;
  return {
    accounts: ACCOUNTS,
    workspaces: LOAD_WORKSPACES.length,
    connected,
    lost: ACCOUNTS - connected,
    duplicatedPhones: duplicated,
    primaries,
    constraintErrors,
    secondsFromFirstScanToLastConnected: seconds,
    activationsPerSecond: seconds ? Math.round((connected / seconds) * 10) / 10 : 0,
    workerRssMbBefore: rssBefore,
    workerRssMbAfter: rssAfter,
    workerMbPerConnectedSession: Math.round(((rssAfter - rssBefore) / Math.max(1, connected)) * 1000) / 1000,
    // Where the scan phase's CPU went, per connected account: with every core busy, this is what bounds the rate.
    cpuMsPerConnection: Object.fromEntries(
      Object.entries(cpuMs).map(([part, ms]) => [part, Math.round((ms / Math.max(1, connected)) * 10) / 10]),
    ),
    ...(profileOf ? { scanPhaseProfile: profileOf } : {}),
  };
}

/** The statements PostgreSQL ran in the scan phase, per connection, by database (the service's; Temporal's too on
 * the production server), the most frequent first. */
async function statementsPerConnection(pool: Awaited<ReturnType<typeof createDatabasePool>>, connections: number) {
  const rows = await pool.any(sql.type(
    z.object({ database: z.string(), calls: z.number(), execMs: z.number(), query: z.string() }),
  )`
    SELECT d.datname AS database, s.calls::int8 AS calls, s.total_exec_time::float8 AS "execMs",
           left(regexp_replace(s.query, '[[:space:]]+', ' ', 'g'), 140) AS query
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE s.query NOT LIKE '%pg_stat_statements%'
    ORDER BY s.calls DESC
  `);
  const per = (value: number) => Math.round((value / Math.max(1, connections)) * 100) / 100;
  const databases = [...new Set(rows.map((row) => row.database))];
  return Object.fromEntries(
    databases.map((database) => {
      const own = rows.filter((row) => row.database === database);
      return [
        database,
        {
          statements: per(own.reduce((sum, row) => sum + row.calls, 0)),
          execMs: per(own.reduce((sum, row) => sum + row.execMs, 0)),
          mostFrequent: own.slice(0, 15).map((row) => ({ perConnection: per(row.calls), query: row.query })),
        },
      ];
    }),
  );
}

/** How many connected accounts' histories are read for what Temporal did per connection. */
const HISTORIES_READ = 100;

/**
 * What Temporal did per connection, from the histories of the accounts scanned at once (up to HISTORIES_READ of
 * them), each from its creation to `connected`: workflow tasks, activity tasks through the server, local
 * activities (recorded as markers inside workflow tasks), signals and timers. The payloads stay sealed: only the
 * event types are read.
 */
async function historyPerConnection(temporalAddress: string, accounts: number) {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    const read = Math.min(HISTORIES_READ, accounts);
    const counts = { workflowTasks: 0, activityTasks: 0, localActivities: 0, signals: 0, timers: 0, events: 0 };
    for (let i = 0; i < read; i += 1) {
      const history = await client.workflow
        .getHandle(accountWorkflowId(loadWorkspaceOf(i), `load-${i}`))
        .fetchHistory();
      for (const event of history.events ?? []) {
        counts.events += 1;
        if (event.workflowTaskCompletedEventAttributes) counts.workflowTasks += 1;
        else if (event.activityTaskScheduledEventAttributes) counts.activityTasks += 1;
        else if (event.markerRecordedEventAttributes) counts.localActivities += 1;
        else if (event.workflowExecutionSignaledEventAttributes) counts.signals += 1;
        else if (event.timerStartedEventAttributes) counts.timers += 1;
      }
    }
    const mean = (count: number) => Math.round((count / Math.max(1, read)) * 10) / 10;
    return {
      historiesRead: read,
      workflowTasks: mean(counts.workflowTasks),
      activityTasks: mean(counts.activityTasks),
      localActivities: mean(counts.localActivities),
      signals: mean(counts.signals),
      timers: mean(counts.timers),
      historyEvents: mean(counts.events),
    };
  } finally {
    await connection.close();
  }
}

const IDLE_SECONDS = Number(values.idle);

/**
 * CPU of each part while every account is connected and nothing happens (heartbeats, lease renewals, timers,
 * polls), as a percentage of one core per 1,000 connected sessions.
 */
async function measureIdle(
  pool: Awaited<ReturnType<typeof createDatabasePool>>,
  parts: Record<string, number>,
): Promise<{ connected: number; seconds: number; percentOfOneCorePer1000Sessions: Record<string, number> }> {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const connected = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM whatsapp_accounts WHERE status = 'connected' AND deleted_at IS NULL
  `);
  const before = cpuByPart(parts);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  const spent = cpuSpent(before, cpuByPart(parts));
  const percent = (ms: number) =>
    Math.round(((ms / (IDLE_SECONDS * 1000)) * 100 * 1000 * 100) / Math.max(1, connected)) / 100;
  return {
    connected,
    seconds: IDLE_SECONDS,
    percentOfOneCorePer1000Sessions: Object.fromEntries(Object.entries(spent).map(([part, ms]) => [part, percent(ms)])),
  };
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;

/**
 * Bytes on disk: the service's database, and Temporal's (its two PostgreSQL databases on the production server, its
 * SQLite file with the write-ahead log on the dev server).
 */
async function storageBytes(
  pool: Awaited<ReturnType<typeof createDatabasePool>>,
  dataDir: string,
): Promise<{ service: number; temporal: number }> {
  const sizeOf = (database: string) =>
    pool.oneFirst(sql.type(z.object({ size: z.number() }))`
      SELECT COALESCE((SELECT pg_database_size(datname) FROM pg_database WHERE datname = ${database}), 0)::int8 AS size
    `);
  const service = await pool.oneFirst(
    sql.type(z.object({ size: z.number() }))`SELECT pg_database_size(current_database())::int8 AS size`,
  );
  let temporal = (await sizeOf('temporal')) + (await sizeOf('temporal_visibility'));
  if (temporal === 0) {
    for (const file of ['temporal.db', 'temporal.db-wal']) {
      try {
        temporal += statSync(join(dataDir, file)).size;
      } catch {
        // no such file
      }
    }
  }
  return { service, temporal };
}

/** Both topologies of this run side by side. */
function printComparison(results: Array<Record<string, unknown>>) {
  type Result = {
    topology: string;
    baselineMs: Summary;
    scanToConnectedMs: Summary;
    qrToSubscriberMs: Summary;
    baselineTemporalCpuMsPerRoundTrip: number;
    baselinePostgresCpuMsPerRoundTrip: number;
    storageMbPer1000Accounts: { service: number; temporal: number };
    idle: { percentOfOneCorePer1000Sessions: Record<string, number> };
    concurrency: {
      activationsPerSecond: number;
      connected: number;
      accounts: number;
      cpuMsPerConnection: Record<string, number>;
    };
  };
  const runs = results as unknown as Result[];
  const cells = (pick: (run: Result) => string) => runs.map(pick).join(' | ');
  const cpuTotal = (run: Result) => Object.values(run.concurrency.cpuMsPerConnection).reduce((a, b) => a + b, 0);
  const lines = [
    '',
    `| measure | ${runs.map((run) => run.topology).join(' | ')} |`,
    `|---|${runs.map(() => '---|').join('')}`,
    `| scan → connected p50 / p95 / p99 (ms) | ${cells((r) => `${r.scanToConnectedMs.p50.toFixed(0)} / ${r.scanToConnectedMs.p95.toFixed(0)} / ${r.scanToConnectedMs.p99.toFixed(0)}`)} |`,
    `| QR → subscriber p50 / p95 / p99 (ms) | ${cells((r) => `${r.qrToSubscriberMs.p50.toFixed(0)} / ${r.qrToSubscriberMs.p95.toFixed(0)} / ${r.qrToSubscriberMs.p99.toFixed(0)}`)} |`,
    `| baseline round trip p50 / p95 / p99 (ms) | ${cells((r) => `${r.baselineMs.p50.toFixed(0)} / ${r.baselineMs.p95.toFixed(0)} / ${r.baselineMs.p99.toFixed(0)}`)} |`,
    `| ratio scan→connected / baseline, p50 | ${cells((r) => (r.scanToConnectedMs.p50 / r.baselineMs.p50).toFixed(2))} |`,
    `| connections per second (${runs[0]?.concurrency.accounts ?? '?'} accounts) | ${cells((r) => `${r.concurrency.activationsPerSecond} (${r.concurrency.connected} connected)`)} |`,
    `| CPU per connection, all parts (ms) | ${cells((r) => cpuTotal(r).toFixed(1))} |`,
    ...['temporal', 'worker', 'postgres', 'api'].map(
      (part) => `| … of which ${part} (ms) | ${cells((r) => String(r.concurrency.cpuMsPerConnection[part] ?? 0))} |`,
    ),
    `| Temporal CPU per bare round trip (ms) | ${cells((r) => String(r.baselineTemporalCpuMsPerRoundTrip))} |`,
    `| … and PostgreSQL's over it (ms) | ${cells((r) => String(r.baselinePostgresCpuMsPerRoundTrip))} |`,
    `| ratio CPU per connection ÷ Temporal CPU per bare round trip | ${cells((r) => (cpuTotal(r) / r.baselineTemporalCpuMsPerRoundTrip).toFixed(2))} |`,
    ...['temporal', 'worker', 'postgres', 'api'].map(
      (part) =>
        `| idle ${part}, % of one core per 1,000 connected | ${cells((r) => String(r.idle.percentOfOneCorePer1000Sessions[part] ?? 0))} |`,
    ),
    `| storage per 1,000 accounts: service / Temporal (MB) | ${cells((r) => `${r.storageMbPer1000Accounts.service} / ${r.storageMbPer1000Accounts.temporal}`)} |`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** `Temporal CLI v1.5.1 (Server 1.29.1, UI …)`: a CLI built from the module proxy calls itself 0.0.0-DEV, so its tag comes from the module. */
async function temporalCliVersion(): Promise<string> {
  const { resolveTemporalCli, TEMPORAL_CLI_MODULE } = await import('../infra/temporal-cli.js');
  const printed = execFileSync(await resolveTemporalCli(createLogger('bench', 'warn')), ['--version'], {
    encoding: 'utf8',
  });
  const components = /\(([^)]*)\)/.exec(printed)?.[1];
  return `Temporal CLI ${TEMPORAL_CLI_MODULE.split('@')[1] ?? '?'}${components ? ` (${components})` : ''}`;
}

function printTable(result: Record<string, unknown>, baseline: Summary, scan: Summary, qr: Summary, prefix: string) {
  const row = (name: string, s: Summary, target: string) =>
    `| ${name} | ${s.count} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.p99.toFixed(1)} | ${target} |`;
  const c = result.concurrency as Record<string, number | null> & { cpuMsPerConnection: Record<string, number> };
  const m = result.machine as Record<string, string | number>;
  const ratio = result.ratioScanToConnectedOverBaseline as Record<string, number>;
  const lines = [
    '',
    `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB; node ${m.node}; ${m.temporalCli}; ${String(m.postgres).split(' on ')[0]}`,
    '',
    '| latency (ms) | n | p50 | p95 | p99 | target |',
    '|---|---|---|---|---|---|',
    row('scan → connected (row + WebSocket)', scan, 'p95 ≤ 150'),
    row('QR → WebSocket subscriber', qr, 'p95 ≤ 100'),
    row('baseline: bare workflow + no-op activity', baseline, '(the floor)'),
    `| ratio scan→connected / baseline | | ${ratio.p50?.toFixed(2)} | ${ratio.p95?.toFixed(2)} | ${ratio.p99?.toFixed(2)} | |`,
    '',
    `concurrency: ${c.accounts} accounts at once → ${c.connected} connected, ${c.lost} lost, ${c.duplicatedPhones} duplicated phones, ${c.primaries} primary, ${c.constraintErrors} constraint errors; ` +
      `${c.activationsPerSecond} activations/s (target ≥ 50); worker RSS ${c.workerRssMbBefore} → ${c.workerRssMbAfter} MB = ${c.workerMbPerConnectedSession} MB per connected session (target ≤ 0.5)`,
    `CPU ms per connection during the scan phase: ${Object.entries(c.cpuMsPerConnection)
      .map(([part, ms]) => `${part} ${ms}`)
      .join(', ')}; ` +
      `Temporal per bare round trip: ${String(result.baselineTemporalCpuMsPerRoundTrip)} ` +
      `(PostgreSQL over it: ${String(result.baselinePostgresCpuMsPerRoundTrip)})`,
    `idle, ${String((result.idle as { connected: number }).connected)} connected: % of one core per 1,000 sessions: ${Object.entries(
      (result.idle as { percentOfOneCorePer1000Sessions: Record<string, number> }).percentOfOneCorePer1000Sessions,
    )
      .map(([part, percent]) => `${part} ${percent}`)
      .join(', ')}`,
    '',
    `written: ${prefix}.json and ${prefix}.png`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

// Exit explicitly: the Temporal runtime's native threads would otherwise keep retrying the stopped server for minutes.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);

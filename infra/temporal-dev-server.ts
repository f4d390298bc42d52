import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from '../lib/logger.js';
import { TEMPORAL_UI_CODEC_ENDPOINT, TEMPORAL_UI_PUBLIC_PATH } from '../lib/temporal-ui.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../workflows/search-attributes.js';
import { isProcessAlive, startChild, type ChildHandle } from '../lib/child-process.js';
import { assertPortFree } from './ports.js';

export interface TemporalDevServerOptions {
  cliPath: string;
  /** SQLite file holding every workflow; reusing it on the next start keeps them all. */
  dbFile: string;
  port: number;
  /** Web UI port, or null for no UI (tests). */
  uiPort: number | null;
  logFile: string;
  namespace: string;
  log: Logger;
  readyTimeoutMs?: number;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  child: ChildHandle;
  stop(): Promise<void>;
}

/**
 * Dynamic config for the Temporal server; docker-compose sets the same values in infra/temporal/config/dynamicconfig.yaml
 * (a test keeps the two equal). The history service reads its transfer, timer and visibility queues at most 20 times
 * a second by default, so every task it hands to a worker (workflow task, activity, timer) waits ~40 ms for the next
 * read: 150 ms for the bare start → activity → complete round trip on this server, 27 ms without the cap.
 */
export const TEMPORAL_SERVER_TUNING = [
  'history.transferProcessorMaxPollRPS=1000',
  'history.timerProcessorMaxPollRPS=1000',
  'history.visibilityProcessorMaxPollRPS=1000',
  // An activity on the workflow's own task queue (the database writes) comes back with the workflow task's
  // completion instead of through matching and a poll: fewer server round trips per status change.
  'system.enableActivityEagerExecution=true',
  // The history service caches workflow events (what an activity task or a workflow task hands out) in 512 KiB per
  // shard by default, and the dev server has one shard: past a few hundred live accounts every task read its events
  // back from SQLite. 64 MiB holds thousands (Temporal's CPU per connection at 1000 accounts: 62 → 54 ms).
  'history.eventsCacheMaxSizeBytes=67108864',
  // One partition per task queue: a host's own queue and the placement queue have a few pollers each, and a task in a
  // partition none of them waits on stays there until a poll picks it (infra/temporal/config/dynamicconfig.yaml).
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

/**
 * WAL with synchronous=NORMAL: a commit survives the server process being killed (what the SQLite file is for: a
 * restart keeps every workflow) without an fsync per history write (53 → 38 ms per round trip). Only a power loss can
 * drop the last commits, and production runs Temporal on PostgreSQL (docker-compose.yml).
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/** Starts `temporal server start-dev` as a child process and waits until its namespace and search attributes answer. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<RunningTemporal> {
  const host = '127.0.0.1';
  await mkdir(dirname(options.dbFile), { recursive: true });
  const pidFile = `${options.dbFile}.pid`;
  await stopLeftoverServer(pidFile, options.log);
  await assertPortFree(
    options.port,
    host,
    'Temporal frontend',
    'set TEMPORAL_PORT, or TEMPORAL_ADDRESS to use a running server',
  );
  if (options.uiPort !== null) {
    await assertPortFree(options.uiPort, host, 'Temporal Web UI', 'set TEMPORAL_UI_PORT');
  }

  const args = [
    'server',
    'start-dev',
    ...TEMPORAL_SERVER_TUNING.flatMap((setting) => ['--dynamic-config-value', setting]),
    ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
    '--ip',
    host,
    '--port',
    String(options.port),
    '--db-filename',
    options.dbFile,
    '--namespace',
    options.namespace,
    '--log-format',
    'json',
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_DECLARATIONS.flatMap((declaration) => ['--search-attribute', declaration]),
    ...(options.uiPort === null
      ? ['--headless']
      : [
          '--ui-port',
          String(options.uiPort),
          '--ui-public-path',
          TEMPORAL_UI_PUBLIC_PATH,
          '--ui-codec-endpoint',
          TEMPORAL_UI_CODEC_ENDPOINT,
        ]),
  ];
  const child = startChild({
    name: 'temporal',
    command: options.cliPath,
    args,
    logFile: options.logFile,
    detached: true,
  });
  if (child.process.pid) await writeFile(pidFile, String(child.process.pid));

  const address = `${host}:${options.port}`;
  const stop = async () => {
    await child.stop('SIGTERM', 10_000);
    await rm(pidFile, { force: true });
  };
  try {
    await waitUntilReady(address, options.namespace, child, options.logFile, options.readyTimeoutMs ?? 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, uiUrl: options.uiPort === null ? null : `http://${host}:${options.uiPort}`, child, stop };
}

async function waitUntilReady(
  address: string,
  namespace: string,
  child: ChildHandle,
  logFile: string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | undefined;
  void child.exited.then((code) => {
    exitCode = code;
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`Temporal dev server exited with ${exitCode} while starting: ${await tail(logFile)}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = SEARCH_ATTRIBUTE_DECLARATIONS.map((d) => d.split('=')[0] ?? d).filter(
          (name) => !(name in (customAttributes ?? {})),
        );
        if (missing.length === 0) return;
        lastError = new Error(`search attributes not registered yet: ${missing.join(', ')}`);
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`Temporal dev server not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

/** A supervisor killed hard leaves its server running on the database file; stop it before starting anew. */
async function stopLeftoverServer(pidFile: string, log: Logger) {
  const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('start-dev')) {
      log.warn({ pid }, 'stopping a Temporal dev server left running by an earlier start');
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && isProcessAlive(pid); i += 1) await new Promise((r) => setTimeout(r, 100));
      if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  await rm(pidFile, { force: true });
}

async function tail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-15).join('\n');
}

import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../db/migrate.js';
import { startPrivateStack } from '../infra/stack.js';
import { resolveTemporalServer } from '../infra/temporal-server.js';
import { createLogger } from '../lib/logger.js';

/**
 * `npm test`: typechecks, lints (typescript-eslint, no warnings) and checks the formatting (prettier), starts a Temporal dev server and a PostgreSQL of its own on free ports (never a
 * developer's running ones), migrates, runs every tests/**\/*.test.ts with node's test runner, and cleans up.
 * Arguments narrow the run to files whose path contains one of them.
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** What the formatter owns: the TypeScript and its own configuration. */
const FORMATTED = ['**/*.ts', 'eslint.config.js', '.prettierrc.json'];

async function main(): Promise<number> {
  // info: a first run builds the Temporal CLI for minutes and must show its progress.
  const log = createLogger('test-stack', process.env.STACK_LOG_LEVEL ?? 'info');
  const filters = process.argv.slice(2);

  const typecheck = await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'],
    process.env,
  );
  if (typecheck !== 0) return typecheck;
  // A whole run also lints and checks the formatting; a run narrowed to some files is for iterating on them.
  if (filters.length === 0) {
    const lint = await run(
      process.execPath,
      [join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--max-warnings', '0', '.'],
      process.env,
    );
    if (lint !== 0) return lint;
    const format = await run(
      process.execPath,
      [join(ROOT, 'node_modules/prettier/bin/prettier.cjs'), '--check', ...FORMATTED],
      process.env,
    );
    if (format !== 0) return format;
  }

  const files = (await listTestFiles(join(ROOT, 'tests'))).filter(
    (file) => filters.length === 0 || filters.some((f) => file.includes(f)),
  );
  if (files.length === 0) {
    process.stderr.write(`no test file matches ${filters.join(', ')}\n`);
    return 1;
  }

  // Temporal's production server takes minutes to build the first time: built here, before the run, so no test
  // spends its time budget building beside the others.
  const sources = await Promise.all(files.map((file) => readFile(file, 'utf8')));
  if (sources.some((source) => source.includes('resolveTemporalServer('))) await resolveTemporalServer(log);

  const dataDir = join(ROOT, '.data', `test-${process.pid}-${Date.now()}`);
  const outputDir = join(ROOT, 'test-output');
  await mkdir(outputDir, { recursive: true });
  const { stack, env } = await startPrivateStack({ dataDir, durable: false, log, withUi: true });
  let stopped = false;
  const cleanUp = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
    if (process.env.KEEP_TEST_DATA !== '1') await rm(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanUp().then(() => process.exit(143)));
  try {
    await migrate(stack.databaseUrl, log);
    const testEnv = {
      ...env,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      // The operator console's tests serve this UI through the API under test.
      TEST_TEMPORAL_UI_URL: stack.temporalUiUrl ?? '',
      TEST_DATA_DIR: dataDir,
      TEST_OUTPUT_DIR: outputDir,
      // The test key (never a deployment's): histories recorded by tests replay in later runs.
      ENCRYPTION_KEYS: (await readFile(join(ROOT, 'tests/fixtures/encryption-keys.txt'), 'utf8')).trim(),
      // Tests' webhook receivers listen on loopback, which the webhook network policy otherwise refuses.
      WEBHOOK_ALLOWED_HOSTS: process.env.WEBHOOK_ALLOWED_HOSTS ?? '127.0.0.1,localhost',
      // Tests' proxies too; any other address a test names is refused before it is dialed.
      PROXY_ALLOWED_HOSTS: process.env.PROXY_ALLOWED_HOSTS ?? '127.0.0.1,localhost',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    };
    return await runFiles(
      files.map((file) => relative(ROOT, file)),
      testEnv,
      Number(process.env.TEST_CONCURRENCY ?? DEFAULT_CONCURRENCY),
    );
  } finally {
    await cleanUp();
  }
}

async function listTestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listTestFiles(path);
      return entry.name.endsWith('.test.ts') ? [path] : [];
    }),
  );
  return nested.flat().sort();
}

/**
 * Test files run this many at a time: they mostly wait (on Temporal timers, workers starting, the simulator's
 * delays), so more files than cores keep the machine busy. TEST_CONCURRENCY overrides it; 1 runs them one by one.
 */
const DEFAULT_CONCURRENCY = 4;

/**
 * Files that drive a real Chromium (the real engine, the web UIs): each starts a browser of several processes, and
 * two of them at once on a small machine starve each other's page loads past their timeouts. They take turns, one
 * at a time, in a lane of their own beside the other files. Every other file makes its own workspaces, accounts,
 * task queues, workflow ids and ports, and shares nothing with the others.
 */
const ONE_BROWSER_AT_A_TIME = new Set([
  'tests/engine/real-engine.test.ts',
  'tests/engine/real-engine-upkeep.test.ts',
  'tests/engine/web-build-canary-standin.test.ts',
  'tests/security/operator-console.test.ts',
  'tests/security/web-build-integrity.test.ts',
  'tests/web/dashboard.test.ts',
  'tests/web/onboarding-page.test.ts',
  'tests/security/chromium-environment.test.ts',
  'tests/security/chromium-sandbox.test.ts',
]);

/**
 * The slow end-to-end files (a minute or more each: real workers, restarts, drains) start first, so the run does
 * not end waiting on one of them started last. The others keep their path order.
 */
const SLOWEST_FIRST = [
  'tests/engine/real-engine.test.ts',
  'tests/engine/session-upkeep.test.ts',
  'tests/workflows/host-drain.test.ts',
  'tests/infra/worker-exit.e2e.test.ts',
  'tests/workflows/account-lifecycle.test.ts',
  'tests/workflows/worker-crash.test.ts',
  'tests/infra/supervision.e2e.test.ts',
  'tests/workflows/account-branches.test.ts',
  'tests/infra/start.e2e.test.ts',
  'tests/api/event-stream.test.ts',
  'tests/security/session-id-isolation.test.ts',
  'tests/workflows/pairing-race-replay.test.ts',
  'tests/db/pg-listener.test.ts',
];

/**
 * Runs each file in a node test runner of its own, `concurrency` at a time (the browser files one at a time among
 * those); a file's output is printed whole when it ends, so files running together do not interleave. Ends with
 * the slowest files and the failed ones.
 */
async function runFiles(files: string[], env: NodeJS.ProcessEnv, concurrency: number): Promise<number> {
  const limit = Number.isInteger(concurrency) && concurrency > 0 ? concurrency : DEFAULT_CONCURRENCY;
  const started = Date.now();
  const results: Array<{ file: string; code: number; ms: number }> = [];
  const runOne = async (file: string) => {
    const begun = Date.now();
    const { code, output } = await runCaptured(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', file],
      env,
    );
    const ms = Date.now() - begun;
    results.push({ file, code, ms });
    process.stdout.write(`\n# ${file} (${(ms / 1000).toFixed(1)} s, exit ${code})\n${output}`);
  };
  const rank = (file: string) => {
    const index = SLOWEST_FIRST.indexOf(file);
    return index === -1 ? SLOWEST_FIRST.length : index;
  };
  const ordered = [...files].sort((a, b) => rank(a) - rank(b));
  const browsers = ordered.filter((file) => ONE_BROWSER_AT_A_TIME.has(file));
  const others = ordered.filter((file) => !ONE_BROWSER_AT_A_TIME.has(file));
  // Lanes: each takes the next file of its queue when its last one ends.
  const lane = async (queue: string[]): Promise<void> => {
    const file = queue.shift();
    if (file === undefined) return;
    await runOne(file);
    return lane(queue);
  };
  if (limit === 1) await lane([...browsers, ...others]);
  else
    await Promise.all([
      // The browser lane runs its Chromium files one at a time, then helps with the rest.
      lane(browsers).then(() => lane(others)),
      ...Array.from({ length: browsers.length > 0 ? limit - 1 : limit }, () => lane(others)),
    ]);

  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 10);
  const failed = results.filter((result) => result.code !== 0);
  process.stdout.write(
    `\n# ${results.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s, ${limit} at a time\n` +
      `# slowest:\n${slowest.map((r) => `#   ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.file}`).join('\n')}\n` +
      (failed.length > 0 ? `# failed:\n${failed.map((r) => `#   ${r.file}`).join('\n')}\n` : ''),
  );
  return failed.length > 0 ? 1 : 0;
}

function runCaptured(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test run could not start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);

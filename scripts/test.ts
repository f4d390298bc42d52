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
    return await run(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', ...files.map((file) => relative(ROOT, file))],
      {
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
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
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

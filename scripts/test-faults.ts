import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run test:faults`: typechecks, then runs tests/faults/*.fault.ts one file at a time. Each case starts its
 * own PostgreSQL, Temporal dev server, worker and API processes (it kills and restarts them), so nothing is shared
 * with `npm test` or with a developer's running stack. Arguments narrow the run to files whose name contains one.
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const typecheck = await run(process.execPath, [
    join(ROOT, 'node_modules/typescript/bin/tsc'),
    '--noEmit',
    '-p',
    'tsconfig.json',
  ]);
  if (typecheck !== 0) return typecheck;
  const filters = process.argv.slice(2);
  const files = (await readdir(join(ROOT, 'tests/faults')))
    .filter((name) => name.endsWith('.fault.ts'))
    .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
    .sort()
    .map((name) => join('tests/faults', name));
  if (files.length === 0) {
    process.stderr.write(`no fault case matches ${filters.join(', ')}\n`);
    return 1;
  }
  return run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files]);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);

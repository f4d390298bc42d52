import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { findFreePort } from '../../infra/ports.js';
import { eventually, testStackEnv, uniqueId } from '../helpers/context.js';

/**
 * A supervisor that starts one service process, prints its pid and stays until killed. The service's database
 * listens nowhere, so the service is still waiting for it (db/migrate.ts waits up to two minutes) when the
 * supervisor dies.
 */
async function supervisorScript(service: 'api' | 'worker', logFile: string): Promise<string> {
  const directory = join(testStackEnv().outputDir, uniqueId('orphan'));
  await mkdir(directory, { recursive: true });
  const script = join(directory, 'supervisor.ts');
  const entry = resolve('infra/service-processes.ts');
  await writeFile(
    script,
    [
      `import { startServiceProcess } from ${JSON.stringify(entry)};`,
      `const child = startServiceProcess(${JSON.stringify(service)}, process.env, ${JSON.stringify(logFile)});`,
      'process.stdout.write(`${child.process.pid}\\n`);',
      'setInterval(() => undefined, 1_000);',
    ].join('\n'),
  );
  return script;
}

/** Whether the process runs: an exited one may linger as a zombie until whoever adopted it reaps it. */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

describe('a service whose supervisor dies while it waits for its database', { timeout: 120_000 }, () => {
  for (const service of ['api', 'worker'] as const) {
    it(`the ${service} exits within seconds, not after the database wait`, async () => {
      const logFile = join(testStackEnv().outputDir, `${uniqueId(`orphaned-${service}`)}.log`);
      const nowhere = await findFreePort('127.0.0.1');
      const { DATABASE_MIGRATION_URL: _migrationUrl, ...withoutMigrationUrl } = process.env;
      const supervisor = spawn(process.execPath, ['--import', 'tsx', await supervisorScript(service, logFile)], {
        env: { ...withoutMigrationUrl, DATABASE_URL: `postgres://nobody:nothing@127.0.0.1:${nowhere}/none` },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        let printed = '';
        supervisor.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
        const servicePid = await eventually(async () => Number(printed.trim()) || undefined, 30_000, 'the service pid');
        await eventually(
          async () =>
            (await readFile(logFile, 'utf8')).includes('PostgreSQL is not accepting connections yet') || undefined,
          60_000,
          'the service waiting for its database',
        );
        assert.ok(await running(servicePid), 'the service still waits');
        supervisor.kill('SIGKILL');
        const orphanedAt = Date.now();
        await eventually(async () => ((await running(servicePid)) ? undefined : true), 20_000, 'the orphan exited');
        const exitedInMs = Date.now() - orphanedAt;
        assert.ok(exitedInMs < 20_000, `exited ${exitedInMs} ms after its supervisor died`);
      } finally {
        supervisor.kill('SIGKILL');
      }
    });
  }
});

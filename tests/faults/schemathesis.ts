import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../lib/child-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Pinned: the fuzzer's generation changes between releases, and a run must be reproducible. */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** The schemathesis CLI in a virtualenv of its own under .data/tools (created with python3 the first time). */
export async function ensureSchemathesis(): Promise<string> {
  const venv = join(ROOT, '.data', 'tools', `schemathesis-${SCHEMATHESIS_VERSION}`);
  const cli = join(venv, 'bin', 'schemathesis');
  try {
    await access(cli);
    return cli;
  } catch {
    await runCommand('python3', ['-m', 'venv', venv]);
    await runCommand(join(venv, 'bin', 'pip'), [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `schemathesis==${SCHEMATHESIS_VERSION}`,
    ]);
    return cli;
  }
}

/** Runs the fuzzer and returns its exit code and output (printed as it goes, so a CI log shows the failures). */
export function runSchemathesis(
  cli: string,
  args: string[],
  workDir: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // Its example cache goes into the working directory: the case's data, not the repository.
    const child = spawn(cli, args, { cwd: workDir, env: { ...process.env, NO_COLOR: '1', PYTHONUNBUFFERED: '1' } });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

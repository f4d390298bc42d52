import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../config/env.js';
import type { Logger } from '../lib/logger.js';
import { runCommand } from '../lib/child-process.js';

/** The one CLI version whose module installs cleanly with `go install` (later tags carry a replace directive). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/**
 * Finds the Temporal CLI: TEMPORAL_CLI, then PATH, then $(go env GOPATH)/bin; builds it with Go as a last resort.
 * The first build takes minutes, so it reports progress instead of looking hung.
 */
export async function resolveTemporalCli(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.TEMPORAL_CLI;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new ConfigError(`TEMPORAL_CLI=${explicit} is not an executable file`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (await isExecutable(candidate)) return candidate;
  }
  const goBinary = await findGo(env);
  if (!goBinary) {
    throw new ConfigError(
      'no Temporal CLI found (checked TEMPORAL_CLI, PATH and $GOPATH/bin) and Go is not installed to build it: ' +
        `install Go and run "go install ${TEMPORAL_CLI_MODULE}", or download the Temporal CLI and set TEMPORAL_CLI to its path`,
    );
  }
  const goPath = (await runCommand(goBinary, ['env', 'GOPATH'], { env })).trim();
  const built = join(goPath.split(delimiter)[0] ?? goPath, 'bin', 'temporal');
  if (await isExecutable(built)) return built;

  log.info({ module: TEMPORAL_CLI_MODULE }, 'building the Temporal CLI with Go (first time only, takes a few minutes)');
  const startedAt = Date.now();
  const ticker = setInterval(() => {
    log.info({ elapsedSeconds: Math.round((Date.now() - startedAt) / 1000) }, 'still building the Temporal CLI');
  }, 15_000);
  try {
    let lines = 0;
    await runCommand(goBinary, ['install', '-v', TEMPORAL_CLI_MODULE], {
      env,
      onLine: () => {
        lines += 1;
        if (lines % 100 === 0) log.info({ packagesCompiled: lines }, 'building the Temporal CLI');
      },
    });
  } finally {
    clearInterval(ticker);
  }
  if (!(await isExecutable(built))) throw new Error(`go install finished but ${built} is missing`);
  log.info({ path: built, seconds: Math.round((Date.now() - startedAt) / 1000) }, 'Temporal CLI built');
  return built;
}

async function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'go');
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

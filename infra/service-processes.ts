import { fileURLToPath } from 'node:url';
import { startChild, type ChildHandle } from '../lib/child-process.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export type ServiceName = 'worker' | 'api';

const ENTRY: Record<ServiceName, string> = {
  worker: 'workers/main.ts',
  api: 'api/main.ts',
};

/**
 * Starts the worker or the API as its own Node process (TypeScript through tsx). Each gets a process group of its
 * own, so a terminal's Ctrl-C reaches only the supervisor, which then stops everything in order.
 */
export function startServiceProcess(
  name: ServiceName,
  env: NodeJS.ProcessEnv,
  output?: string | ((line: string, stream: 'stdout' | 'stderr') => void),
): ChildHandle {
  return startChild({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', ENTRY[name]],
    cwd: ROOT,
    env: { ...env, WA_SUPERVISED: '1' },
    detached: true,
    ...(typeof output === 'string' ? { logFile: output } : {}),
    ...(typeof output === 'function' ? { onLine: output } : {}),
  });
}

/** Polls a URL until it answers 200; fails early when `child` exits meanwhile. */
export async function waitForHttpOk(url: string, children: readonly ChildHandle[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const exits = children.map((child) => child.exited.then((code) => ({ child, code })));
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    const exited = await Promise.race([...exits, new Promise<null>((r) => setTimeout(() => r(null), 250))]);
    if (exited) throw new Error(`${exited.child.name} exited with ${exited.code} while starting`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      if (response.status === 200) return;
      lastProblem = `${response.status} ${await response.text()}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${lastProblem}`);
}

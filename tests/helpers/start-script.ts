import { spawn, type ChildProcess } from 'node:child_process';

export interface StartScriptRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves once the banner is printed; rejects when the process exits first. */
  ready: Promise<void>;
}

/** Runs `scripts/start.ts` (what `npm start` runs after setup) as a person would, with the given environment. */
export function runStartScript(env: NodeJS.ProcessEnv): StartScriptRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (output.includes('wa-connect is running')) resolve();
    };
    child.stdout.on('data', onData);
    void exited.then((code) =>
      reject(new Error(`start exited with ${code} before it was ready:\n${output.slice(-3000)}`)),
    );
  });
  ready.catch(() => undefined);
  return { child, output: () => output, exited, ready };
}

/** The environment without the variables that point at the test run's own servers. */
export function envWithoutStack(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  return env;
}

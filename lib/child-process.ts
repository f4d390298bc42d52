import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export interface ChildHandle {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Sends `signal`, then SIGKILL if the process is still there after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output goes to this file (noisy servers) or, when absent, to this process's stdout/stderr. */
  logFile?: string;
  /** Without a log file: each line of output, as it also goes to this process's stdout/stderr. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  detached?: boolean;
}

export function startChild(options: StartChildOptions): ChildHandle {
  const spawnOptions: SpawnOptions = {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: options.logFile || options.onLine ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    detached: options.detached ?? false,
  };
  const child = spawn(options.command, options.args, spawnOptions);
  if (options.logFile) {
    const sink = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(sink, { end: false });
    child.stderr?.pipe(sink, { end: false });
    child.once('close', () => sink.end());
  } else if (options.onLine) {
    const onLine = options.onLine;
    for (const [name, source, target] of [
      ['stdout', child.stdout, process.stdout],
      ['stderr', child.stderr, process.stderr],
    ] as const) {
      let partial = '';
      source?.on('data', (chunk: Buffer) => {
        target.write(chunk);
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onLine(line, name);
      });
    }
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  return {
    name: options.name,
    process: child,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) {
      if (hasExited(child)) return;
      child.kill(signal);
      // `exited` also settles when the process never started (an 'error' without an 'exit').
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Waits up to `graceMs` for a process that is on its way out, then SIGKILLs it. Resolves once it is gone, with
 * whether it had to be killed.
 */
export async function exitOrKill(child: ChildProcess, graceMs: number): Promise<{ killed: boolean }> {
  if (hasExited(child)) return { killed: false };
  // once() rejects on an 'error' event: a process that cannot be signalled is as gone as it will get.
  const exit = once(child, 'exit').catch(() => undefined);
  let killed = false;
  const timer = setTimeout(() => {
    killed = child.kill('SIGKILL');
  }, graceMs);
  await exit;
  clearTimeout(timer);
  return { killed };
}

/** Runs a command to completion and returns its output; throws with the output when it fails. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void } = {},
): Promise<string> {
  // A process group of its own: servers it daemonizes (pg_ctl's postmaster) ignore the terminal's Ctrl-C and are
  // stopped in order by whoever started them.
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const [code] = (await Promise.race([
    once(child, 'exit'),
    once(child, 'error').then(([error]) => {
      throw error;
    }),
  ])) as [number | null];
  if (code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${output.trim().slice(-2000)}`);
  }
  return output;
}

/** What a helper command gets of this process's environment: where to find programs, and nothing else. */
function helperEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { PATH: source.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
}

/**
 * Runs a command with `input` on its standard input and answers its standard output as bytes: data that must not
 * touch the disk (a login) goes through the command without a temporary file. Fails on an exit code not in `okCodes`.
 */
export async function pipeThroughCommand(
  command: string,
  args: readonly string[],
  input: Buffer | null,
  okCodes: readonly number[] = [0],
): Promise<Buffer> {
  // Its own environment, not the worker's: the data passes through it, the process's secrets do not.
  // A process group of its own: a Ctrl-C or a hang-up meant for the worker does not cut a save short.
  const child = spawn(command, args, {
    stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: helperEnvironment(),
    detached: true,
  });
  const output: Buffer[] = [];
  let errors = '';
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-2000);
  });
  if (input && child.stdin) {
    // A command that exits without reading all of it closes the pipe: its exit code says what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  }
  const [code] = (await Promise.race([
    once(child, 'close'),
    once(child, 'error').then(([error]) => {
      throw error;
    }),
  ])) as [number | null];
  if (code === null || !okCodes.includes(code)) {
    throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${errors.trim()}`);
  }
  return Buffer.concat(output);
}

/** True when a process with this pid exists (signal 0 checks without touching it). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  parent: number;
  command: string;
  /** Its own CPU time and that of its children it has waited for (so a reaped child's time is not lost). */
  cpuTicks: number;
  /** Its own CPU time alone: a thread's entry carries its whole process's waited-for children in the fields above. */
  ownTicks: number;
  /** When it started (ticks since boot): with the pid, names one process even after the pid is reused. */
  startedAt: number;
}

function readStat(pid: number, path = `/proc/${pid}/stat`): ProcStat | null {
  try {
    const text = readFileSync(path, 'utf8');
    // The command sits in parentheses and may hold spaces: fields are counted after its closing one.
    const close = text.lastIndexOf(')');
    const command = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … starttime(19).
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((index) => Number(fields[index]));
    return {
      pid,
      parent: Number(fields[1]),
      command,
      cpuTicks: (utime ?? 0) + (stime ?? 0) + (cutime ?? 0) + (cstime ?? 0),
      ownTicks: (utime ?? 0) + (stime ?? 0),
      startedAt: Number(fields[19]),
    };
  } catch {
    return null;
  }
}

/** Processes counted by their command name wherever they run from: the servers of the stack. */
const PART_BY_COMMAND: Record<string, string> = {
  postgres: 'postgres',
  temporal: 'temporal',
  // The production topology's server (the kernel keeps 15 characters of a command's name).
  'temporal-server': 'temporal',
};

/** What each process of the stack had used at one moment: its part and its CPU ms, by pid and start time. */
export type CpuSnapshot = Map<string, { part: string; ms: number; parent: string | null }>;

/**
 * A snapshot of the CPU time each process of the stack has used so far: a process counts for the named root it
 * descends from (worker, API, the load generator), Temporal's and PostgreSQL's by their command; everything else is
 * left out. Two snapshots around a phase tell where that phase's CPU went (cpuSpent).
 */
export function cpuByPart(roots: Record<string, number | readonly number[]>): CpuSnapshot {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(stat.pid, stat);
  }
  // A part may have several roots (a host's Chromiums): each counts for it with whatever descends from it.
  const partOfRoot = new Map(
    Object.entries(roots).flatMap(([part, pids]) =>
      (typeof pids === 'number' ? [pids] : pids).map((pid) => [pid, part]),
    ),
  );
  const partOf = (stat: ProcStat): string | null => {
    const server = PART_BY_COMMAND[stat.command];
    if (server) return server;
    for (let current: ProcStat | undefined = stat; current; current = stats.get(current.parent)) {
      const part = partOfRoot.get(current.pid);
      if (part) return part;
    }
    return null;
  };
  const keyOf = (stat: ProcStat) => `${stat.pid}:${stat.startedAt}`;
  const snapshot: CpuSnapshot = new Map();
  for (const stat of stats.values()) {
    const part = partOf(stat);
    const parent = stats.get(stat.parent);
    if (part) {
      snapshot.set(keyOf(stat), {
        part,
        ms: (stat.cpuTicks * 1000) / TICKS_PER_SECOND,
        parent: parent ? keyOf(parent) : null,
      });
    }
  }
  return snapshot;
}

/**
 * The CPU ms each part used between two snapshots, process by process: a process that started meanwhile counts all
 * it used, one that ran through counts its growth. A process that exited meanwhile (a database backend, a browser's
 * helper) is counted in its parent's growth once reaped (cutime holds its whole life), less what it had used before
 * the phase; one whose parent is not counted takes its last moments with it. Summing whole parts instead counted an
 * exited process as negative time.
 */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const snapshot of [before, after]) for (const { part } of snapshot.values()) spent[part] = 0;
  for (const [process, { part, ms }] of after) {
    const earlier = before.get(process)?.ms ?? 0;
    spent[part] = (spent[part] ?? 0) + Math.max(0, ms - earlier);
  }
  for (const [process, { ms, parent }] of before) {
    const reapedBy = parent === null ? undefined : after.get(parent);
    if (after.has(process) || !reapedBy) continue;
    spent[reapedBy.part] = Math.max(0, (spent[reapedBy.part] ?? 0) - ms);
  }
  return Object.fromEntries(Object.entries(spent).map(([part, ms]) => [part, Math.round(ms)]));
}

/** Node threads started within this long of the process: V8's helpers, and usually libuv's pool. */
const HELPERS_START_WITHIN_S = 0.5;

/**
 * One process's CPU ms so far by thread: where a process's CPU goes when a JavaScript profile sees only one thread.
 * Node 20 names all its threads `node`, so they are told apart by when they started: the main thread (its id is the
 * process's); V8's helpers (garbage collection, compilation), which start with the process, together with whatever
 * else starts within 0.5 s of it (usually libuv's pool, which starts at its first use); and each thread started later
 * on its own, named by its start: among them the Temporal worker's workflow thread, where the workflows' JavaScript
 * runs, started when the worker is created. Threads with names of their own (the Temporal core's runtime, the
 * profiler) keep them.
 */
export function cpuByThread(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  const processStartedAt = readStat(pid)?.startedAt ?? 0;
  for (const tid of threads) {
    const stat = readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    const name = threadName(stat, pid, processStartedAt);
    byName[name] = (byName[name] ?? 0) + (stat.ownTicks * 1000) / TICKS_PER_SECOND;
  }
  return byName;
}

function threadName(stat: ProcStat, pid: number, processStartedAt: number): string {
  if (stat.pid === pid) return 'main (JavaScript)';
  if (stat.command !== 'node') return stat.command;
  const startedAfterS = (stat.startedAt - processStartedAt) / TICKS_PER_SECOND;
  if (startedAfterS <= HELPERS_START_WITHIN_S) {
    return `node, started within ${HELPERS_START_WITHIN_S} s (V8 helpers, usually libuv pool)`;
  }
  return `node thread ${stat.pid}, started ${startedAfterS.toFixed(1)} s after the process`;
}

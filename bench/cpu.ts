import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  parent: number;
  command: string;
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command sits in parentheses and may hold spaces: fields are counted after its closing one.
    const close = text.lastIndexOf(')');
    const command = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12).
    return { pid, parent: Number(fields[1]), command, cpuTicks: Number(fields[11]) + Number(fields[12]) };
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

/**
 * CPU time (ms) each part of the stack has used so far: a process counts for the named root it descends from
 * (worker, API, the load generator), Temporal's and PostgreSQL's by their command; everything else is left out.
 * Two snapshots around a phase tell where that phase's CPU went.
 */
export function cpuByPart(roots: Record<string, number>): Record<string, number> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(stat.pid, stat);
  }
  const partOfRoot = new Map(Object.entries(roots).map(([part, pid]) => [pid, part]));
  const partOf = (stat: ProcStat): string | null => {
    const server = PART_BY_COMMAND[stat.command];
    if (server) return server;
    for (let current: ProcStat | undefined = stat; current; current = stats.get(current.parent)) {
      const part = partOfRoot.get(current.pid);
      if (part) return part;
    }
    return null;
  };
  const totals: Record<string, number> = Object.fromEntries(
    [...Object.keys(roots), ...Object.values(PART_BY_COMMAND)].map((part) => [part, 0]),
  );
  for (const stat of stats.values()) {
    const part = partOf(stat);
    if (part) totals[part] = (totals[part] ?? 0) + (stat.cpuTicks * 1000) / TICKS_PER_SECOND;
  }
  return totals;
}

/** The CPU ms each part used between two snapshots. */
export function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after).map((part) => [part, Math.round((after[part] ?? 0) - (before[part] ?? 0))]),
  );
}

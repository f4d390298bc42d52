import { readdir, readFile } from 'node:fs/promises';

/** A running Chromium process: its command line and its memory, both read from /proc. */
interface ChromiumProcess {
  pid: number;
  /** Arguments joined by NUL; Chromium's zygote children rewrite theirs as one string with spaces. */
  cmdline: string;
  /** Proportional set size: shared pages divided among the processes sharing them. */
  pssBytes: number;
  /** Resident set size: shared pages counted in full. */
  rssBytes: number;
}

/**
 * Every Chromium process whose command line contains `marker` (a profile folder, a host's engine folder), in one
 * pass over /proc: no process spawned, so a host can ask every round.
 */
async function chromiumProcesses(marker: string): Promise<ChromiumProcess[]> {
  const found: ChromiumProcess[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(marker) || !/chrom/i.test(cmdline)) continue;
    // The process may end between the two reads: it then counts as nothing.
    const rollup = await readFile(`/proc/${entry}/smaps_rollup`, 'utf8').catch(() => '');
    found.push({
      pid: Number(entry),
      cmdline,
      pssBytes: kilobytes(rollup, 'Pss') * 1024,
      rssBytes: kilobytes(rollup, 'Rss') * 1024,
    });
  }
  return found;
}

function kilobytes(rollup: string, field: string): number {
  return Number.parseInt(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? '0', 10);
}

/**
 * The memory of the Chromium processes whose command line contains `marker`: PSS summed (the fair figure for "what
 * one more costs") and RSS summed (counts shared pages once per process, an upper bound).
 */
export async function chromiumMemory(marker: string): Promise<{ pssMb: number; rssMb: number; processes: number }> {
  const processes = await chromiumProcesses(marker);
  const megabytes = (bytes: number) => Math.round(bytes / 1024 / 1024);
  return {
    pssMb: megabytes(processes.reduce((sum, process) => sum + process.pssBytes, 0)),
    rssMb: megabytes(processes.reduce((sum, process) => sum + process.rssBytes, 0)),
    processes: processes.length,
  };
}

/** The pids of the Chromium processes whose command line contains `marker`. */
export async function chromiumPids(marker: string): Promise<number[]> {
  return (await chromiumProcesses(marker)).map((process) => process.pid);
}

/**
 * The PSS of every Chromium running on a profile under `profilesDir`, in bytes, by profile folder name: what each
 * session's browser holds.
 */
export async function memoryByProfile(profilesDir: string): Promise<Map<string, number>> {
  const profileOf = new RegExp(`--user-data-dir=${profilesDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^\\s\\0]+)`);
  const byProfile = new Map<string, number>();
  for (const process of await chromiumProcesses(`--user-data-dir=${profilesDir}/`)) {
    const profile = profileOf.exec(process.cmdline)?.[1];
    if (profile) byProfile.set(profile, (byProfile.get(profile) ?? 0) + process.pssBytes);
  }
  return byProfile;
}

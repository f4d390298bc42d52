import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/**
 * The memory of the Chromium processes whose command line contains `marker` (a profile folder, a host's engine
 * folder): PSS (shared pages divided among the processes sharing them, the fair figure for "what one more costs")
 * and RSS summed (counts shared pages once per process, an upper bound).
 */
export function chromiumMemory(marker: string): { pssMb: number; rssMb: number; processes: number } {
  const lines = execFileSync('ps', ['-eo', 'pid,rss,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && /chrom/i.test(line));
  let pssKb = 0;
  let rssKb = 0;
  for (const line of lines) {
    const [pid = '', rss = '0'] = line.trim().split(/\s+/);
    rssKb += Number.parseInt(rss, 10);
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pssKb += Number.parseInt(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? '0', 10);
    } catch {
      // The process ended meanwhile.
    }
  }
  return { pssMb: Math.round(pssKb / 1024), rssMb: Math.round(rssKb / 1024), processes: lines.length };
}

/** The pids of the Chromium processes whose command line contains `marker`. */
export function chromiumPids(marker: string): number[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && /chrom/i.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/**
 * The PSS of every Chromium running on a profile under `profilesDir`, in bytes, by profile folder name (one read of
 * /proc for all of them, no process spawned): what each session's browser holds.
 */
export async function memoryByProfile(profilesDir: string): Promise<Map<string, number>> {
  // Chromium's zygote children rewrite their command line as one string, spaces for separators: matched, not split.
  const marker = new RegExp(`--user-data-dir=${profilesDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^\\s\\0]+)`);
  const byProfile = new Map<string, number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const profile = marker.exec(await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''))?.[1];
    if (!profile) continue;
    const rollup = await readFile(`/proc/${entry}/smaps_rollup`, 'utf8').catch(() => '');
    const pssKb = Number.parseInt(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? '0', 10);
    byProfile.set(profile, (byProfile.get(profile) ?? 0) + pssKb * 1024);
  }
  return byProfile;
}

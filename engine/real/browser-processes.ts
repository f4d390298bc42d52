import { spawnSync, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { exitOrKill } from '../../lib/child-process.js';
import { settlesWithin } from '../../lib/settles-within.js';
import type { Logger } from '../../lib/logger.js';
import { memoryByProfile } from './chromium-memory.js';

/** How long a closing Chromium may take to write its profile before it is killed as hung. */
const BROWSER_EXIT_GRACE_MS = 10_000;

/**
 * How long the library may take to close a session's browser before every process on its profile is killed as frozen
 * (a stopped process, a hung DevTools connection): a stop never waits for ever, so no client outlives it. Inside the
 * 10 s a host has, at the default lease TTL, between stopping its clients for want of a renewal and the leases'
 * expiry (engine/host-leases.ts).
 */
const BROWSER_CLOSE_WAIT_MS = 8_000;

/** A memory reading of every session's browser serves every session asking within this long. */
const MEMORY_READING_TTL_MS = 5_000;

/** Starts Chromium bound to the host process's life (setpriv's parent-death signal). */
const CHROMIUM_WITH_HOST = fileURLToPath(new URL('./chromium-with-host.sh', import.meta.url));

/**
 * How puppeteer starts a session's Chromium: through chromium-with-host.sh, which has the kernel kill the browser
 * when the host process dies (a worker SIGKILLed, out of memory), so no browser keeps a session running after its host;
 * or, where `setpriv` is missing, Chromium itself, whose orphans only the next host on the same folder stops
 * (`killOrphanedBrowsers`).
 */
export function chromiumLaunch(
  chromiumPath: string,
  log: Logger,
): { executablePath: string; env: Record<string, string> } {
  // The option itself is tried: a setpriv without it (util-linux before 2.33) would fail every launch.
  if (spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0)
    return { executablePath: CHROMIUM_WITH_HOST, env: { WA_CHROMIUM_BINARY: chromiumPath } };
  log.warn('setpriv (util-linux) is missing: a Chromium outlives a host that is killed');
  return { executablePath: chromiumPath, env: {} };
}

/**
 * A worker killed hard leaves its Chromium processes running, re-parented to init. They hold profiles under
 * `profilesDir`; stop them before anything else uses those profiles.
 */
export async function killOrphanedBrowsers(profilesDir: string, log: Logger): Promise<void> {
  const marker = `--user-data-dir=${profilesDir}/`;
  for (const pid of await pidsWhoseCommandLine((cmdline) => cmdline.includes(marker))) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (/^PPid:\s+1$/m.test(status)) {
      log.warn({ pid }, 'stopping a Chromium left by a worker that died');
      killNow(pid);
    }
  }
}

/**
 * Waits for a closing Chromium to exit, and kills it only when it hangs. Chromium writes the profile, the login with
 * it, on its way out: killed mid-shutdown, it loses the login and the reconnect asks for a new scan.
 */
export async function awaitBrowserExit(browser: ChildProcess | null | undefined, sessionId: string, log: Logger) {
  if (!browser) return;
  const { killed } = await exitOrKill(browser, BROWSER_EXIT_GRACE_MS);
  if (killed) log.warn({ sessionId, graceMs: BROWSER_EXIT_GRACE_MS }, 'Chromium did not exit after closing; killed');
}

/** The memory of each session's browser, from one reading of all of them shared by the sessions that ask together. */
export class BrowserMemory {
  private reading: { takenAt: number; bytes: Promise<Map<string, number>> } | null = null;

  constructor(private readonly profilesDir: string) {}

  async bytesOf(profile: string): Promise<number | null> {
    if (!this.reading || Date.now() - this.reading.takenAt > MEMORY_READING_TTL_MS)
      this.reading = { takenAt: Date.now(), bytes: memoryByProfile(this.profilesDir) };
    return (await this.reading.bytes).get(profile) ?? null;
  }

  /** A reading taken before a start would give the new browser its predecessor's memory. */
  forget(): void {
    this.reading = null;
  }
}

/**
 * Waits for the library's close of a session's browser (`closing`); one not closed within BROWSER_CLOSE_WAIT_MS has
 * every process started on its profile killed: the browser and its helpers, which a frozen browser would not end.
 */
export async function closeOrKillBrowser(
  closing: Promise<unknown>,
  profileDir: string,
  sessionId: string,
  log: Logger,
): Promise<void> {
  if (await settlesWithin(closing, BROWSER_CLOSE_WAIT_MS)) return;
  // Exactly this profile, not one whose name merely begins with it. Zygote children rewrite their arguments as one
  // string with spaces; the others keep them NUL-separated.
  const own = new RegExp(`--user-data-dir=${profileDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[\\s\\0]|$)`);
  const killed = (await pidsWhoseCommandLine((cmdline) => own.test(cmdline))).filter(killNow).length;
  log.warn({ sessionId, waitedMs: BROWSER_CLOSE_WAIT_MS, killed }, 'Chromium did not close in time; killed');
}

/** The processes whose command line (arguments joined by NUL) passes `matches`, in one pass over /proc. */
async function pidsWhoseCommandLine(matches: (cmdline: string) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    if (matches(await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''))) pids.push(Number(entry));
  }
  return pids;
}

/** SIGKILL; false when the process was already gone. */
function killNow(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../../lib/logger.js';

/** What decides whether Chromium can sandbox its renderers on this host. */
export interface SandboxFacts {
  /** The uid this process runs as: Chromium refuses to sandbox as root. */
  uid: number;
  /** /proc/sys/user/max_user_namespaces (null: unknown). */
  maxUserNamespaces: number | null;
  /** Debian's /proc/sys/kernel/unprivileged_userns_clone (null: the kernel has no such switch). */
  unprivilegedUserNamespaces: number | null;
  /** Ubuntu's /proc/sys/kernel/apparmor_restrict_unprivileged_userns (null: absent). */
  apparmorRestrictsUserNamespaces: number | null;
  /** Chromium's setuid sandbox helper is installed setuid root. */
  setuidHelper: boolean;
}

export type SandboxSetting = 'auto' | 'on' | 'off';

export interface SandboxDecision {
  sandbox: boolean;
  reason: string;
}

/**
 * A page is code from the network running in a process that holds the service's database credentials: Chromium's
 * sandbox (seccomp and namespaces) keeps a compromised renderer away from them. It needs a non-root user and either
 * unprivileged user namespaces or the setuid helper; `auto` uses it wherever the host allows.
 */
export function decideSandbox(setting: SandboxSetting, facts: SandboxFacts): SandboxDecision {
  if (setting === 'off') return { sandbox: false, reason: 'CHROMIUM_SANDBOX=off' };
  const blocker = sandboxBlocker(facts);
  if (blocker === null) return { sandbox: true, reason: 'the host allows it' };
  if (setting === 'on')
    throw new Error(
      `CHROMIUM_SANDBOX=on, but Chromium cannot sandbox here: ${blocker}. ${SANDBOX_REMEDY}, or set ` +
        'CHROMIUM_SANDBOX=auto to run it without the sandbox (not advised)',
    );
  return { sandbox: false, reason: blocker };
}

const SANDBOX_REMEDY =
  "Run the worker as a non-root user on a host that allows unprivileged user namespaces (or install Chromium's " +
  'setuid chrome-sandbox helper)';

/**
 * The decision for this worker's start, said once in its log. Running without the sandbox is a weaker service than
 * the operator may believe they run, so it is a warning with the reason and the remedy, never an info line.
 */
export function decideSandboxAtStart(
  setting: SandboxSetting,
  facts: SandboxFacts,
  log: Pick<Logger, 'info' | 'warn'>,
): SandboxDecision {
  const decision = decideSandbox(setting, facts);
  if (decision.sandbox) log.info({ sandbox: true, reason: decision.reason }, 'chromium sandbox');
  else
    log.warn(
      { sandbox: false, reason: decision.reason, setting },
      `Chromium runs WITHOUT its sandbox (${decision.reason}): a page that compromises its renderer runs with the ` +
        `worker's rights. ${SANDBOX_REMEDY}; CHROMIUM_SANDBOX=on refuses to start without it`,
    );
  return decision;
}

function sandboxBlocker(facts: SandboxFacts): string | null {
  if (facts.uid === 0) return 'the worker runs as root (Chromium sandboxes only as another user)';
  if (facts.setuidHelper) return null;
  if (facts.maxUserNamespaces === 0) return 'user namespaces are off (user.max_user_namespaces = 0)';
  if (facts.unprivilegedUserNamespaces === 0)
    return 'unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0)';
  if (facts.apparmorRestrictsUserNamespaces === 1) return 'AppArmor restricts unprivileged user namespaces';
  return null;
}

function readNumber(path: string): number | null {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** This host's facts, read from /proc and the Chromium install. */
export function readSandboxFacts(chromiumPath: string): SandboxFacts {
  let setuidHelper = false;
  for (const helper of [`${chromiumPath.replace(/\/[^/]+$/, '')}/chrome-sandbox`, '/usr/lib/chromium/chrome-sandbox']) {
    try {
      const stats = statSync(helper);
      if (stats.uid === 0 && (stats.mode & 0o4000) !== 0) setuidHelper = true;
    } catch {
      // not installed there
    }
  }
  return {
    uid: process.getuid?.() ?? 0,
    maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
    unprivilegedUserNamespaces: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrictsUserNamespaces: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    setuidHelper,
  };
}

// Low-memory Chromium: one renderer, no GPU, no background work, no first-run, no /dev/shm (small in containers).
const COMMON_FLAGS = [
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--no-first-run',
  '--renderer-process-limit=1',
  '--js-flags=--max-old-space-size=256',
];

/**
 * The browser's own omnibox popups, which headless Chromium still loads in a renderer of their own (about 110 MB) that
 * nothing ever shows: both must be off for that renderer not to start. The page's renderer is the only one a session
 * needs.
 */
const UNSHOWN_RENDERER = '--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup';

/**
 * Without the sandbox every helper runs with the worker's own rights, so a separate GPU or network process protects
 * nothing and costs a process each per session: both run inside the browser process. With the sandbox they stay
 * apart, where it confines them. The page's renderer is a process of its own either way.
 */
const UNSANDBOXED_HELPERS_IN_BROWSER = ['--in-process-gpu', '--enable-features=NetworkServiceInProcess2'];

/** Chromium's flags: without the sandbox, also without the zygote (one process fewer; Chromium allows it only then). */
export function chromiumFlags(decision: SandboxDecision): string[] {
  return decision.sandbox
    ? [...COMMON_FLAGS, UNSHOWN_RENDERER]
    : ['--no-sandbox', '--no-zygote', ...COMMON_FLAGS, UNSHOWN_RENDERER, ...UNSANDBOXED_HELPERS_IN_BROWSER];
}

/** The flags before the helper processes were trimmed: the baseline `npm run bench -- --chromium N` measures against. */
export function untrimmedChromiumFlags(decision: SandboxDecision): string[] {
  return decision.sandbox ? COMMON_FLAGS : ['--no-sandbox', '--no-zygote', ...COMMON_FLAGS];
}

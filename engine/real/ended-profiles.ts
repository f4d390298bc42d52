import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sessionKey } from '../../domain/session-key.js';
import type { Logger } from '../../lib/logger.js';
import { profileName, savedLoginMarkerName } from './postgres-auth.js';

/** How often a host looks for the profiles of accounts that ended while they ran elsewhere. */
export const ENDED_PROFILES_SWEEP_EVERY_MS = 3_600_000;

/** The session key a profile folder is named after (postgres-auth.ts `profileName`); null for anything else. */
export function sessionKeyOfProfile(name: string): string | null {
  const match = /^session-(\d+)-/.exec(name);
  if (!match) return null;
  const workspaceLength = Number(match[1]);
  const rest = name.slice(match[0].length);
  if (rest.length < workspaceLength + 2 || rest[workspaceLength] !== '-') return null;
  const key = sessionKey(rest.slice(0, workspaceLength), rest.slice(workspaceLength + 1));
  return profileName(key) === name ? key : null;
}

/**
 * A session's profile (its login and the chats WhatsApp Web cached) stays on every host that ever ran it: a logout
 * or a delete removes it only where the session ran then. Each host removes the profiles of sessions it does not run
 * whose accounts have ended, so an account's data leaves every host once it is deleted.
 */
export async function removeEndedProfiles(
  profilesDir: string,
  isRunningHere: (key: string) => boolean,
  endedOf: (keys: readonly string[]) => Promise<ReadonlySet<string>>,
  log: Logger,
): Promise<number> {
  const entries = await readdir(profilesDir, { withFileTypes: true }).catch(() => []);
  const keys = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => sessionKeyOfProfile(entry.name))
    .filter((key): key is string => key !== null);
  const ended = await endedOf(keys);
  let removed = 0;
  for (const key of ended) {
    // A session started here since the accounts were read is running: an ended account never starts again.
    if (isRunningHere(key)) continue;
    await rm(join(profilesDir, profileName(key)), { recursive: true, force: true });
    await rm(join(profilesDir, savedLoginMarkerName(key)), { force: true });
    removed += 1;
  }
  if (removed > 0) log.info({ removed }, 'removed the browser profiles of accounts that ended');
  return removed;
}

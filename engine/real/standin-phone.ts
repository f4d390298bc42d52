import type wwebjs from 'whatsapp-web.js';
import type { Logger } from '../../lib/logger.js';
import { PhoneActionRefused } from '../phone/inbox.js';
import { describeFailure } from './classify-disconnect.js';

/** The page of a running client, as the library types it. */
type ClientPage = InstanceType<typeof wwebjs.Client>['pupPage'];

/** What the stand-in page exposes to play the phone's side and to report what it answered. */
interface StandInGlobal {
  __standin: {
    /** What the page did; a slow action (growing memory) answers when done. */
    apply(action: string, params: Record<string, unknown>): Record<string, unknown> | Promise<Record<string, unknown>>;
    modulesAnsweredHarmlessly(): string[];
  };
}

/**
 * Plays the phone's side of one action (scan, confirm a pairing code, log out, ...) on a session's stand-in page:
 * the same control surface as the simulated engine, answered by the page the real library drives.
 */
export async function playPhoneOnStandIn(
  page: ClientPage | null,
  action: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (!page) throw new PhoneActionRefused('session_gone', 'the session is not running');
  try {
    return await page.evaluate(
      (a: string, p: Record<string, unknown>) => (globalThis as unknown as StandInGlobal).__standin.apply(a, p),
      action,
      params,
    );
  } catch (error) {
    const message = describeFailure(error);
    const code = /^(?:Error: )?([a-z_]+):/.exec(message)?.[1] ?? 'invalid_action';
    throw new PhoneActionRefused(code, message);
  }
}

/** Logs which modules the library asked the stand-in for that it only answers harmlessly (the version guard reads it). */
export async function reportStandInCoverage(page: ClientPage | null, sessionId: string, log: Logger) {
  try {
    const standinHarmlessModules =
      (await page?.evaluate(() => (globalThis as unknown as StandInGlobal).__standin.modulesAnsweredHarmlessly())) ??
      [];
    log.info({ sessionId, standinHarmlessModules }, 'stand-in module coverage');
  } catch {
    // The page may already be gone.
  }
}

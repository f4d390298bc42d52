import type { DatabasePool } from 'slonik';
import { endOnboardingLink, openOnboardingLink, type OpenedOnboardingLink } from '../db/onboarding-links.js';
import type { Keyring } from '../lib/keyring.js';
import { readOnboardingToken } from '../lib/onboarding-token.js';
import { endedLinkWords } from './onboarding-link-view.js';
import { HttpProblem, problem } from './problem.js';

/** Every way a token fails reads the same to whoever holds it: there is no such link. */
const notFound = () =>
  new HttpProblem(problem(404, 'onboarding_link_not_found', 'Not Found', 'there is no such onboarding link'));

/**
 * The link a visitor's token opens, with its account, while it is good: a forged or altered token is refused
 * before any lookup (404), an expired one says so (410 `onboarding_link_expired`), an ended one says why (410
 * `onboarding_link_ended`, `reason`: connected, revoked, account_ended).
 */
export async function openLinkByToken(
  pool: DatabasePool,
  keyring: Keyring,
  tokenText: string,
  counted: boolean,
): Promise<OpenedOnboardingLink> {
  const reading = readOnboardingToken(keyring, tokenText);
  if (!reading.ok) {
    if (reading.reason === 'invalid') throw notFound();
    throw new HttpProblem(problem(410, 'onboarding_link_expired', 'Gone', endedLinkWords('expired')));
  }
  const opened = await openOnboardingLink(pool, reading.token.linkId, counted);
  if (!opened) throw notFound();
  const { link, account } = opened;
  // The row is the authority on when it ends: the token's own expiry was set from it.
  if (link.expires_at <= Date.now())
    throw new HttpProblem(problem(410, 'onboarding_link_expired', 'Gone', endedLinkWords('expired')));
  let reason = link.end_reason;
  if (reason === null && (account.deleted_at !== null || account.status === 'failed')) {
    reason =
      (await endOnboardingLink(pool, { id: link.id, accountId: account.id }, 'account_ended'))?.end_reason ?? null;
  }
  if (reason !== null)
    throw new HttpProblem(problem(410, 'onboarding_link_ended', 'Gone', endedLinkWords(reason), { reason }));
  return opened;
}

import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { accountRowSchema, type AccountRow } from './account-row.js';
import { workspaceDisplayName } from './workspaces.js';

/** Hosted onboarding links (sql/0034): what each is for and why it ended; the token itself is kept nowhere. */

export const ONBOARDING_LINK_END_REASONS = ['connected', 'revoked', 'account_ended'] as const;
export type OnboardingLinkEndReason = (typeof ONBOARDING_LINK_END_REASONS)[number];

export const onboardingLinkSchema = z.object({
  id: z.string(),
  account_id: z.number(),
  workspace_id: z.string(),
  created_at: z.number(),
  expires_at: z.number(),
  created_by: z.string().nullable(),
  ended_at: z.number().nullable(),
  end_reason: z.enum(ONBOARDING_LINK_END_REASONS).nullable(),
  opened_count: z.number(),
  last_opened_at: z.number().nullable(),
});
export type OnboardingLinkRow = z.infer<typeof onboardingLinkSchema>;

/** A new link good for `minutes` from now on the database's clock, in whole seconds (as its token carries it). */
export async function insertOnboardingLink(
  db: CommonQueryMethods,
  link: { id: string; account: AccountRow; minutes: number; createdBy: string | null },
): Promise<OnboardingLinkRow> {
  return db.one(sql.type(onboardingLinkSchema)`
    INSERT INTO onboarding_links (id, account_id, workspace_id, expires_at, created_by)
    VALUES (${link.id}, ${link.account.id}, ${link.account.workspace_id},
            date_trunc('second', now()) + make_interval(mins => ${link.minutes}), ${link.createdBy})
    RETURNING *
  `);
}

/** The account's links, newest first. */
export async function listOnboardingLinks(
  db: CommonQueryMethods,
  account: AccountRow,
): Promise<readonly OnboardingLinkRow[]> {
  return db.any(sql.type(onboardingLinkSchema)`
    SELECT * FROM onboarding_links WHERE account_id = ${account.id} ORDER BY created_at DESC, id LIMIT 100
  `);
}

/** Ends a link that has not ended yet; the row as it is afterwards (null: no such link of this account). */
export async function endOnboardingLink(
  db: CommonQueryMethods,
  link: { id: string; accountId: number },
  reason: OnboardingLinkEndReason,
): Promise<OnboardingLinkRow | null> {
  await db.query(sql.unsafe`
    UPDATE onboarding_links SET ended_at = now(), end_reason = ${reason}
    WHERE id = ${link.id} AND account_id = ${link.accountId} AND ended_at IS NULL
  `);
  return db.maybeOne(sql.type(onboardingLinkSchema)`
    SELECT * FROM onboarding_links WHERE id = ${link.id} AND account_id = ${link.accountId}
  `);
}

export interface OpenedOnboardingLink {
  link: OnboardingLinkRow;
  account: AccountRow;
  /** The workspace's name for its visitors (sql/0034); null: none set. */
  displayName: string | null;
}

/**
 * A link with its account and its workspace's display name, as a visitor opens it; `counted` adds the visit to the
 * link's opens (a page load, not each live update).
 */
export async function openOnboardingLink(
  db: CommonQueryMethods,
  linkId: string,
  counted: boolean,
): Promise<OpenedOnboardingLink | null> {
  const link = await db.maybeOne(
    counted
      ? sql.type(onboardingLinkSchema)`
          UPDATE onboarding_links SET opened_count = opened_count + 1, last_opened_at = now()
          WHERE id = ${linkId} RETURNING *
        `
      : sql.type(onboardingLinkSchema)`SELECT * FROM onboarding_links WHERE id = ${linkId}`,
  );
  if (!link) return null;
  const account = await db.one(
    sql.type(accountRowSchema)`SELECT * FROM whatsapp_accounts WHERE id = ${link.account_id}`,
  );
  const displayName = await workspaceDisplayName(db, link.workspace_id);
  return { link, account, displayName };
}

/**
 * Ends the accounts' open links, in the transaction that connects or ends them: a link is dead from the moment its
 * account connects (its visitor's page shows the result, then nothing) or ends.
 */
export async function endOnboardingLinksOf(
  db: CommonQueryMethods,
  accountIds: readonly number[],
  reason: Exclude<OnboardingLinkEndReason, 'revoked'>,
): Promise<void> {
  if (accountIds.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE onboarding_links SET ended_at = now(), end_reason = ${reason}
    WHERE account_id = ANY(${sql.array(accountIds, 'int8')}) AND ended_at IS NULL
  `);
}

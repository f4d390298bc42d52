import { z } from 'zod';
import type { AccountTimings } from '../domain/account-timings.js';

const milliseconds = z.number().int().positive();

/** Any of the account timings (domain/account-timings.ts); the ones left out keep their defaults. */
export const accountTimingsSchema = z
  .object({
    qrExpiryMs: milliseconds,
    readyTimeoutMs: milliseconds,
    hostWaitNoticeMs: milliseconds,
    hostScheduleToStartMs: milliseconds,
    hostHeartbeatTimeoutMs: milliseconds,
    hostMoveQuietMs: z.number().int().nonnegative(),
    phoneExtractionBudgetMs: milliseconds,
    reconnectBaseDelayMs: milliseconds,
    reconnectMaxDelayMs: milliseconds,
    reconnectMaxAttempts: z.number().int().nonnegative(),
  } satisfies Record<keyof AccountTimings, z.ZodTypeAny>)
  .strict()
  .partial();

/** One account's own settings (ACCOUNT_SETTINGS_DIR): its timings, and how often it continues as new. */
export const accountOverridesSchema = z
  .object({
    timings: accountTimingsSchema.optional(),
    continueAsNewAfterEvents: z.number().int().positive().optional(),
  })
  .strict();
export type AccountOverrides = z.output<typeof accountOverridesSchema>;

/** The file in ACCOUNT_SETTINGS_DIR that holds one account's settings. */
export function accountSettingsFile(directory: string, sessionKey: string): string {
  return `${directory}/${encodeURIComponent(sessionKey)}.json`;
}

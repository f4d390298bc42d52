import { Type, type Static } from 'typebox';
import type { AccountRow } from '../db/accounts.js';
import {
  ONBOARDING_LINK_END_REASONS,
  type OnboardingLinkEndReason,
  type OnboardingLinkRow,
} from '../db/onboarding-links.js';
import { maskPhoneNumber } from '../domain/phone-number.js';
import { toAccountView } from './account-view.js';
import { qrDataUrl } from './qr-image.js';
import { Nullable, StringEnum } from './schemas.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A link as the workspace that made it sees it (the token is shown once, at creation). */
export const OnboardingLinkView = Type.Object(
  {
    id: Type.String(),
    sessionId: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    state: StringEnum(['open', 'expired', 'ended']),
    endReason: Type.Unsafe<OnboardingLinkEndReason | null>({
      type: ['string', 'null'],
      enum: [...ONBOARDING_LINK_END_REASONS, null],
    }),
    endedAt: Nullable(Type.String({ format: 'date-time' })),
    /** Page loads by visitors. */
    openedCount: Type.Integer(),
    lastOpenedAt: Nullable(Type.String({ format: 'date-time' })),
    createdBy: Nullable(Type.String({ description: 'the prefix of the key that made it' })),
  },
  { additionalProperties: false },
);

export function toOnboardingLinkView(link: OnboardingLinkRow, sessionId: string, now = Date.now()) {
  return {
    id: link.id,
    sessionId,
    createdAt: iso(link.created_at),
    expiresAt: iso(link.expires_at),
    state:
      link.ended_at !== null ? ('ended' as const) : link.expires_at <= now ? ('expired' as const) : ('open' as const),
    endReason: link.end_reason,
    endedAt: link.ended_at === null ? null : iso(link.ended_at),
    openedCount: link.opened_count,
    lastOpenedAt: link.last_opened_at === null ? null : iso(link.last_opened_at),
    createdBy: link.created_by,
  };
}

const STEPS = ['starting', 'scan_qr', 'enter_code', 'linking', 'connected'] as const;
type OnboardingStep = (typeof STEPS)[number];

/**
 * What the link's visitor sees, and all of it: the workspace's display name, the step, the QR (as an image) or the
 * pairing code, and once linked the phone's last digits. No key, no ids, no metadata, nothing of other accounts.
 */
export const OnboardingPageState = Type.Object(
  {
    type: Type.Literal('state'),
    workspaceName: Nullable(Type.String()),
    expiresAt: Type.String({ format: 'date-time' }),
    step: StringEnum(STEPS),
    /** The QR to scan, as a PNG data URL; it rotates about every 20 s. */
    qr: Nullable(
      Type.Object(
        { dataUrl: Type.String(), generatedAt: Type.String({ format: 'date-time' }) },
        {
          additionalProperties: false,
        },
      ),
    ),
    pairingCode: Nullable(Type.String({ description: 'the code to type on the phone' })),
    /** Once linked: the phone number's last three digits. */
    linkedPhone: Nullable(Type.String()),
    detail: Type.String(),
  },
  { additionalProperties: false },
);
export type OnboardingPageState = Static<typeof OnboardingPageState>;

export async function toOnboardingPageState(opened: {
  link: OnboardingLinkRow;
  account: AccountRow;
  displayName: string | null;
}): Promise<OnboardingPageState> {
  const view = toAccountView(opened.account);
  const step = stepOf(opened.account, view.qr !== null, view.pairingCode !== null);
  const whom = opened.displayName ?? 'this business';
  return {
    type: 'state',
    workspaceName: opened.displayName,
    expiresAt: iso(opened.link.expires_at),
    step,
    qr:
      step === 'scan_qr' && view.qr
        ? {
            dataUrl: await qrDataUrl(view.qr.value),
            generatedAt: view.qr.generatedAt,
          }
        : null,
    pairingCode: step === 'enter_code' ? (view.pairingCode?.value ?? null) : null,
    linkedPhone:
      step === 'connected' && opened.account.phone_number ? maskPhoneNumber(opened.account.phone_number) : null,
    detail: STEP_WORDS[step](whom),
  };
}

function stepOf(account: AccountRow, hasQr: boolean, hasPairingCode: boolean): OnboardingStep {
  if (account.status === 'connected') return 'connected';
  if (account.status === 'authenticated') return 'linking';
  if (account.status === 'qr_scanning' && hasPairingCode) return 'enter_code';
  if (account.status === 'qr_scanning' && hasQr) return 'scan_qr';
  return 'starting';
}

const STEP_WORDS: Record<OnboardingStep, (whom: string) => string> = {
  starting: () => 'Preparing the code to link your WhatsApp…',
  scan_qr: (whom) =>
    `On your phone, open WhatsApp, tap Settings › Linked devices › Link a device, and scan this code to link your WhatsApp to ${whom}.`,
  enter_code: () =>
    'On your phone, open WhatsApp, tap Settings › Linked devices › Link a device › Link with phone number instead, and type this code.',
  linking: () => 'Scanned. Finishing the link…',
  connected: (whom) => `Your WhatsApp is linked to ${whom}. You can close this page.`,
};

/** Why a link no longer opens, in the visitor's words. */
export function endedLinkWords(reason: OnboardingLinkEndReason | 'expired'): string {
  switch (reason) {
    case 'connected':
      return 'This link has been used: the WhatsApp account is linked.';
    case 'revoked':
      return 'This link was withdrawn. Ask for a new one.';
    case 'account_ended':
      return 'This link is no longer valid. Ask for a new one.';
    case 'expired':
      return 'This link has expired. Ask for a new one.';
  }
}

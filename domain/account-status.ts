/**
 * The status flow of the earlier Node service, kept: qr_scanning → authenticated → connected, each able to fail, and
 * connected ↔ disconnected. Plain data with no imports, so workflows, activities and the API share one truth.
 */
export const ACCOUNT_STATUSES = ['qr_scanning', 'authenticated', 'connected', 'disconnected', 'failed'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

const ALLOWED_NEXT: Record<AccountStatus, readonly AccountStatus[]> = {
  qr_scanning: ['authenticated', 'failed'],
  authenticated: ['connected', 'failed', 'disconnected'],
  connected: ['disconnected', 'failed'],
  // A session restored from saved auth reports `authenticated` again before it is `connected`.
  disconnected: ['connected', 'authenticated', 'failed'],
  failed: [],
};

export function canMoveTo(from: AccountStatus, to: AccountStatus): boolean {
  return from === to || ALLOWED_NEXT[from].includes(to);
}

export function isAccountStatus(value: unknown): value is AccountStatus {
  return typeof value === 'string' && (ACCOUNT_STATUSES as readonly string[]).includes(value);
}

import type { AccountStatus } from './account-status.js';

/**
 * What an account that is not connected is waiting for, as its workflow last recorded it (the `wait` of its row and
 * of its wait events), and the one place that words it for people. Plain data with no imports, so the workflow, the
 * database and the API share it.
 */
export type AccountWait =
  /** Every host is full: the account waits for a free seat. */
  | { kind: 'host'; since: number }
  /** A host took the session and is starting WhatsApp Web (`lastFailure`: why the attempt before failed). */
  | (EngineAttempt & { kind: 'engine_starting'; since: number; lastFailure: string | null })
  /** The last start failed or the session dropped: the next attempt is due at `nextTryAt`. */
  | (EngineAttempt & { kind: 'engine_retry'; reason: string; nextTryAt: number });

interface EngineAttempt {
  attempt: number;
  maxAttempts: number;
  /** The account had logged in: the attempts bring it back from its saved login. */
  reconnecting: boolean;
}

export const WAIT_KINDS = ['host', 'engine_starting', 'engine_retry'] as const satisfies readonly AccountWait['kind'][];

/** The account events that record a wait; each carries it as `data.wait`. */
export const WAIT_EVENT_TYPES = ['waiting_for_host', 'engine_starting', 'engine_retry_scheduled'] as const;

/** Failure reasons as a person reads them; anything else is shown as it was recorded. */
const REASON_WORDS: Record<string, string> = {
  whatsapp_unreachable: 'WhatsApp Web unreachable',
  proxy_unreachable: 'its proxy could not be reached',
  proxy_auth_failed: 'its proxy refused the credentials',
  proxy_refused: 'its proxy would not connect to WhatsApp Web',
  proxy_not_allowed: 'its proxy is at an address the service may not dial',
  browser_closed: 'the browser closed',
  conflict: 'WhatsApp Web was opened elsewhere',
  host_lost: 'its host went away',
  reconnect_timeout: 'WhatsApp Web did not log back in',
  unresponsive: 'WhatsApp Web stopped answering its host',
  memory_recycle: 'restarted to free the memory its browser had grown to',
  engine_start_failed: 'the host could not start WhatsApp Web',
  timeout_SCHEDULE_TO_START: 'no host picked the session up',
  restart_requested: 'a restart was asked for',
  qr_expired: 'nobody scanned the QR code in time',
  ready_timeout: 'WhatsApp never finished loading after the login',
  auth_failure: 'WhatsApp refused the login',
  banned: 'WhatsApp banned the number',
  phone_extraction_failed: 'the phone number could not be read',
  reconnect_failed: 'the reconnect attempts ran out',
  login_lost: 'WhatsApp asked for a new login',
  logged_out_from_phone: 'the phone unlinked the device',
  logged_out: 'logged out',
  deleted: 'deleted',
};

/** Why a host restarts a connected session itself (engine/session-upkeep.ts). */
const HOST_RESTARTS = ['unresponsive', 'memory_recycle'];

/** `reconnect_failed:whatsapp_unreachable` → "the reconnect attempts ran out: WhatsApp Web unreachable". */
export function describeReason(reason: string): string {
  return reason
    .split(':')
    .map((part, index, parts) => {
      const words = REASON_WORDS[part];
      if (words) return words;
      // A restart its host made on purpose is no drop: it says why instead (`transient:unresponsive`).
      if (part.startsWith('transient'))
        return HOST_RESTARTS.includes(parts[index + 1] ?? '') ? null : 'the connection dropped';
      return part.replaceAll('_', ' ');
    })
    .filter((part): part is string => part !== null)
    .filter((part, index, parts) => index === 0 || part !== parts[index - 1])
    .join(': ');
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
const minutes = (ms: number) => `${Math.max(0, Math.round(ms / 60_000))} min`;

function describeWait(wait: AccountWait, now: number): string {
  const starting = wait.kind !== 'host' && wait.reconnecting ? 'reconnecting' : 'starting WhatsApp Web';
  switch (wait.kind) {
    case 'host':
      return `waiting for a host with a free seat (every host is full), for ${seconds(now - wait.since)}`;
    case 'engine_starting': {
      const attempt = `${starting}, attempt ${wait.attempt} of ${wait.maxAttempts}`;
      return wait.lastFailure ? `${attempt}; the last one failed: ${describeReason(wait.lastFailure)}` : attempt;
    }
    case 'engine_retry': {
      const due = wait.nextTryAt > now ? `next in ${seconds(wait.nextTryAt - now)}` : 'due now';
      return `${starting}, attempt ${wait.attempt} of ${wait.maxAttempts}, ${due}: ${describeReason(wait.reason)}`;
    }
  }
}

/**
 * A connected session's host checks it every minute and restarts it within minutes when it stops answering: one
 * not seen alive for longer has nobody looking after it (its host gone unnoticed, its checks failing).
 */
export const UNSEEN_CONNECTED_SECONDS = 5 * 60;

export interface DescribedAccount {
  status: AccountStatus;
  /** When its host last saw its session answer (connected accounts); null: not yet, or not known. */
  lastSeenAt?: number | null;
  failureReason: string | null;
  wait: AccountWait | null;
  showsQr: boolean;
  showsPairingCode: boolean;
  deleted: boolean;
}

/** What the account is doing or waiting for, in one line a support person can act on. */
export function describeAccount(account: DescribedAccount, now: number): string {
  if (account.deleted) return 'deleted';
  if (account.wait && (account.status === 'qr_scanning' || account.status === 'disconnected'))
    return describeWait(account.wait, now);
  switch (account.status) {
    case 'qr_scanning':
      if (account.showsPairingCode) return 'waiting for the pairing code to be entered on the phone';
      if (account.showsQr) return 'waiting for the QR code to be scanned';
      return 'starting WhatsApp Web';
    case 'authenticated':
      return 'logged in; waiting for WhatsApp to finish loading';
    case 'connected':
      if (account.lastSeenAt && now - account.lastSeenAt > UNSEEN_CONNECTED_SECONDS * 1000)
        return `connected, but not seen alive for ${minutes(now - account.lastSeenAt)}: its host may be gone`;
      return 'connected';
    case 'disconnected':
      return account.failureReason
        ? `disconnected: ${describeReason(account.failureReason)}`
        : 'disconnected; reconnecting from the saved login';
    case 'failed':
      return account.failureReason ? `failed: ${describeReason(account.failureReason)}` : 'failed';
  }
}

/**
 * The wording of one event as it happened (the event stream): a wait, a login code shown, a status change. Null for
 * events that change nothing a person waits on.
 */
export function describeEvent(
  event: { type: string; status: AccountStatus | null; data: Record<string, unknown> },
  at: number,
): string | null {
  const { type, status, data } = event;
  if ((WAIT_EVENT_TYPES as readonly string[]).includes(type) && data.wait && typeof data.wait === 'object') {
    return describeWait(data.wait as AccountWait, at);
  }
  const shown = { failureReason: null, wait: null, deleted: false };
  if (type === 'qr')
    return describeAccount({ ...shown, status: 'qr_scanning', showsQr: true, showsPairingCode: false }, at);
  if (type === 'pairing_code')
    return describeAccount({ ...shown, status: 'qr_scanning', showsQr: false, showsPairingCode: true }, at);
  if (status === null) return null;
  const failureReason = typeof data.reason === 'string' ? data.reason : null;
  return describeAccount(
    { ...shown, status, failureReason, showsQr: false, showsPairingCode: false, deleted: type === 'session_deleted' },
    at,
  );
}

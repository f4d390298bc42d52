import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures. Every delivery carries two sets of headers:
 * - the legacy one, which existing receivers already verify: `X-Timestamp` (unix seconds) and
 *   `X-HMAC-Signature` = hex HMAC-SHA256(secret, timestamp + raw body);
 * - Standard Webhooks': `webhook-id`, `webhook-timestamp`, `webhook-signature` = `v1,` + base64
 *   HMAC-SHA256(base64-decoded secret, `${id}.${timestamp}.${body}`).
 * This module has no dependency but node:crypto, so receivers can take it as it is.
 */

export function legacySignature(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}${rawBody}`).digest('hex');
}

export function standardSignature(secret: string, id: string, timestamp: number, rawBody: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest('base64')}`;
}

/**
 * The headers of one delivery. `secrets` is the current secret first, then any still in their rotation grace: the
 * legacy header is signed with the current one, the Standard Webhooks header carries a signature under each
 * (space-separated, as that scheme allows), so receivers on either secret accept.
 */
export function signedHeaders(
  secrets: string | readonly string[],
  id: string,
  timestamp: number,
  rawBody: string,
): Record<string, string> {
  const all = typeof secrets === 'string' ? [secrets] : secrets;
  const current = all[0] ?? '';
  return {
    'x-timestamp': String(timestamp),
    'x-hmac-signature': legacySignature(current, timestamp, rawBody),
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': all.map((secret) => standardSignature(secret, id, timestamp, rawBody)).join(' '),
  };
}

export type VerifyResult =
  | { ok: true; scheme: 'legacy' | 'standard' }
  | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'expired' | 'bad_signature' | 'replayed' };

/**
 * Remembers the deliveries a receiver accepted within the timestamp tolerance, so a captured request sent again
 * inside that window is refused. Retries of an event carry the same `webhook-id` (that is how a receiver
 * de-duplicates), so a guard answers "replayed" for those too: treat it as "already processed", answer 2xx.
 */
export class ReplayGuard {
  private readonly seenUntil = new Map<string, number>();

  constructor(private readonly toleranceSeconds = 300) {}

  /** True the first time a delivery (id and timestamp) is seen within the window. */
  firstSeen(key: string, nowSeconds: number): boolean {
    for (const [seen, until] of this.seenUntil) {
      if (until >= nowSeconds) break;
      this.seenUntil.delete(seen);
    }
    if (this.seenUntil.has(key)) return false;
    this.seenUntil.set(key, nowSeconds + 2 * this.toleranceSeconds);
    return true;
  }
}

/**
 * Verifies a delivery as a receiver would: the signature over the raw body, and a timestamp no more than
 * `toleranceSeconds` (300, as the earlier Node service's receivers) away from now, which refuses replays of old deliveries.
 * Header names are case-insensitive; pass the raw body exactly as received.
 */
export function verifyWebhook(options: {
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  secret: string;
  toleranceSeconds?: number;
  nowSeconds?: number;
  /** Refuses a delivery already accepted once (same signature headers) within the tolerance window. */
  replayGuard?: ReplayGuard;
}): VerifyResult {
  const header = (name: string) => {
    const entry = Object.entries(options.headers).find(([key]) => key.toLowerCase() === name);
    const value = entry?.[1];
    return Array.isArray(value) ? value[0] : value;
  };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  const fresh = (raw: string) => {
    if (!/^\d{1,12}$/.test(raw)) return 'bad_timestamp' as const;
    return Math.abs(now - Number(raw)) > tolerance ? ('expired' as const) : null;
  };

  // Checked only after the signature, so forged requests cannot fill the guard's memory.
  const notReplayed = (key: string) => options.replayGuard?.firstSeen(key, now) ?? true;

  const legacyTimestamp = header('x-timestamp');
  const legacySig = header('x-hmac-signature');
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (legacyTimestamp && legacySig) {
    const stale = fresh(legacyTimestamp);
    if (stale) return { ok: false, reason: stale };
    const legacyValid = equalText(legacySignature(options.secret, Number(legacyTimestamp), options.rawBody), legacySig);
    if (legacyValid)
      return notReplayed(`legacy:${legacySig}`) ? { ok: true, scheme: 'legacy' } : { ok: false, reason: 'replayed' };
    // The legacy header holds the current secret only: a receiver still on the previous one, during a rotation's
    // grace, finds its signature among the Standard Webhooks ones.
    if (!(id && timestamp && signatures)) return { ok: false, reason: 'bad_signature' };
  }
  if (id && timestamp && signatures) {
    const stale = fresh(timestamp);
    if (stale) return { ok: false, reason: stale };
    const expected = standardSignature(options.secret, id, Number(timestamp), options.rawBody);
    // The header may carry several space-separated signatures (secret rotation).
    if (!signatures.split(' ').some((candidate) => equalText(expected, candidate)))
      return { ok: false, reason: 'bad_signature' };
    return notReplayed(`standard:${id}.${timestamp}`)
      ? { ok: true, scheme: 'standard' }
      : { ok: false, reason: 'replayed' };
  }
  return { ok: false, reason: 'missing_headers' };
}

function equalText(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether a key-less request may use the legacy session API. The earlier Node service's backend called its Node service on
 * loopback without a key; that stays possible, but only when an operator turns it on, only from loopback, never
 * through a proxy (behind a reverse proxy on the same host every request comes from loopback), and only for the
 * workspaces the operator names.
 */
export interface LegacyKeylessAccess {
  enabled: boolean;
  /** The workspaces key-less requests may touch; empty: none. */
  workspaces: ReadonlySet<string>;
}

export const LEGACY_KEYLESS_OFF: LegacyKeylessAccess = { enabled: false, workspaces: new Set() };

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/**
 * The names a loopback client reaches the API by. A browser on the API's host can be led to a page whose name
 * resolves to 127.0.0.1 (DNS rebinding): its requests come from loopback but carry that page's name as Host.
 */
const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;
/** Headers a proxy adds: their presence means the loopback peer is a proxy, not the earlier Node service's backend. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via'];

export function legacyKeylessAccessFromEnv(enabled: boolean, workspaces: string): LegacyKeylessAccess {
  return {
    enabled,
    workspaces: new Set(
      workspaces
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  };
}

/** Why a key-less legacy request is refused, or null when it may go on (its workspace is checked per route). */
export function legacyKeylessRefusal(
  access: LegacyKeylessAccess,
  request: { ip: string; headers: Record<string, unknown> },
): string | null {
  if (!access.enabled) return 'key-less access is off';
  if (!LOOPBACK.has(request.ip)) return 'key-less access is for loopback only';
  if (PROXY_HEADERS.some((header) => request.headers[header] !== undefined))
    return 'key-less access never comes through a proxy';
  const host = request.headers.host;
  if (host !== undefined && (typeof host !== 'string' || !LOOPBACK_HOST.test(host)))
    return 'key-less access takes a loopback Host only (localhost, 127.0.0.1, [::1])';
  if (access.workspaces.size === 0) return 'no workspace is open to key-less access';
  return null;
}

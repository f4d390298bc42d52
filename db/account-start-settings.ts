import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { SessionProxy } from '../domain/proxy-setting.js';
import { splitSessionKey } from '../domain/session-key.js';
import type { Keyring } from '../lib/keyring.js';
import { sessionProxyOf } from './proxy-settings.js';
import { webBuildForStart } from './web-build-canaries.js';

/** What a session starts with, read when it starts: a change made since applies from this start on. */
export interface AccountStartSettings {
  /**
   * The WhatsApp Web build this start loads: the account's pin, else a running canary's candidate or the promoted
   * build; null: the service's pin (WA_WEB_VERSION), else the library's default.
   */
  webVersion: string | null;
  /** What the phone shows under "Linked devices": the account's own, else its workspace's, else WhatsApp's. */
  deviceName: string | null;
  browserName: string | null;
  /** The proxy the session goes out through: the account's own, else its workspace's, else none. */
  proxy: SessionProxy | null;
}

const startSettingsSchema = z.object({
  id: z.coerce.number().int(),
  web_version_pin: z.string().nullable(),
  device_name: z.string().nullable(),
  browser_name: z.string().nullable(),
  proxy_scheme: z.enum(['http', 'https', 'socks5']).nullable(),
  proxy_host: z.string().nullable(),
  proxy_port: z.number().nullable(),
  proxy_credentials: z.string().nullable(),
  workspace_proxy_scheme: z.enum(['http', 'https', 'socks5']).nullable(),
  workspace_proxy_host: z.string().nullable(),
  workspace_proxy_port: z.number().nullable(),
  workspace_proxy_credentials: z.string().nullable(),
});

export async function accountStartSettings(
  db: CommonQueryMethods,
  keyring: Keyring,
  key: string,
  /** The fleet's task queue: its canary and its promoted build apply. */
  taskQueue: string,
): Promise<AccountStartSettings> {
  const { workspaceId, sessionId } = splitSessionKey(key);
  const row = await db.maybeOne(sql.type(startSettingsSchema)`
    SELECT a.id, a.web_version_pin,
           COALESCE(a.device_name, w.device_name) AS device_name,
           COALESCE(a.browser_name, w.browser_name) AS browser_name,
           a.proxy_scheme, a.proxy_host, a.proxy_port, a.proxy_credentials,
           w.proxy_scheme AS workspace_proxy_scheme, w.proxy_host AS workspace_proxy_host,
           w.proxy_port AS workspace_proxy_port, w.proxy_credentials AS workspace_proxy_credentials
    FROM whatsapp_accounts a LEFT JOIN workspaces w ON w.id = a.workspace_id
    WHERE a.workspace_id = ${workspaceId} AND a.session_id = ${sessionId}
  `);
  // An account's own pin wins; an unpinned one loads the canary's candidate, the promoted build, or the service's.
  const webVersion =
    row === null
      ? null
      : (row.web_version_pin ?? (await webBuildForStart(db, { id: row.id, workspaceId, sessionId }, taskQueue)));
  return {
    webVersion,
    deviceName: row?.device_name ?? null,
    browserName: row?.browser_name ?? null,
    proxy: row
      ? sessionProxyOf(keyring, workspaceId, sessionId, row, {
          proxy_scheme: row.workspace_proxy_scheme,
          proxy_host: row.workspace_proxy_host,
          proxy_port: row.workspace_proxy_port,
          proxy_credentials: row.workspace_proxy_credentials,
        })
      : null,
  };
}

/** Sets (or, with null, clears) the device and browser names the account announces from its next start on. */
export async function setAccountDeviceNames(
  db: CommonQueryMethods,
  accountId: number,
  names: { deviceName: string | null; browserName: string | null },
): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE whatsapp_accounts SET device_name = ${names.deviceName}, browser_name = ${names.browserName}
    WHERE id = ${accountId} AND deleted_at IS NULL
  `);
}

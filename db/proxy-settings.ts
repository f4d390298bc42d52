import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { ProxyAddress, ProxyCredentials, ProxyScheme, SessionProxy } from '../domain/proxy-setting.js';
import type { Keyring } from '../lib/keyring.js';
import { openProxyCredentials, sealProxyCredentials } from '../lib/sealed-proxy-credentials.js';
import { SEALED_PREFIX } from '../lib/sealed-text.js';

/**
 * Proxy settings (sql/0033): an account's own on its row, the workspace's default on the workspace's. The API writes
 * them sealed; the worker reads the one a session starts with and opens its credentials in memory.
 */

/** What a setting shows: where the proxy is and whether it has credentials, never what they are. */
export interface ProxyView extends ProxyAddress {
  authenticated: boolean;
}

/** A setting to write: the address and its credentials (null: the proxy needs none); null clears it. */
export type ProxyChange = { address: ProxyAddress; credentials: ProxyCredentials | null } | null;

/** The columns of a proxy setting on either row. */
export const proxyColumnsSchema = z.object({
  proxy_scheme: z.enum(['http', 'https', 'socks5']).nullable(),
  proxy_host: z.string().nullable(),
  proxy_port: z.number().nullable(),
  proxy_credentials: z.string().nullable(),
});
type ProxyColumns = z.infer<typeof proxyColumnsSchema>;

export function proxyView(row: ProxyColumns): ProxyView | null {
  if (row.proxy_scheme === null || row.proxy_host === null || row.proxy_port === null) return null;
  return {
    scheme: row.proxy_scheme,
    host: row.proxy_host,
    port: row.proxy_port,
    authenticated: row.proxy_credentials !== null,
  };
}

/** Whose credentials these are: what they are sealed under, so they open only on their own row. */
export function proxyOwner(workspaceId: string, sessionId: string | null): string {
  return sessionId === null ? workspaceId : `${workspaceId}/${sessionId}`;
}

/** A setting as stored: its address and its credentials sealed to their owner. */
export interface StoredProxy {
  scheme: ProxyScheme | null;
  host: string | null;
  port: number | null;
  credentials: string | null;
}

export function storedProxy(keyring: Keyring, owner: string, change: ProxyChange): StoredProxy {
  return {
    scheme: change?.address.scheme ?? null,
    host: change?.address.host ?? null,
    port: change?.address.port ?? null,
    credentials: change?.credentials ? sealProxyCredentials(keyring, owner, change.credentials) : null,
  };
}

/** Sets (or clears) the account's own proxy, applied from its session's next start. */
export async function setAccountProxy(
  db: CommonQueryMethods,
  keyring: Keyring,
  account: { id: number; workspaceId: string; sessionId: string },
  change: ProxyChange,
): Promise<void> {
  const columns = storedProxy(keyring, proxyOwner(account.workspaceId, account.sessionId), change);
  await db.query(sql.unsafe`
    UPDATE whatsapp_accounts
    SET proxy_scheme = ${columns.scheme}, proxy_host = ${columns.host}, proxy_port = ${columns.port},
        proxy_credentials = ${columns.credentials}
    WHERE id = ${account.id} AND deleted_at IS NULL
  `);
}

/** Sets (or clears) the workspace's default proxy; answers what it shows now. */
export async function setWorkspaceProxy(
  db: CommonQueryMethods,
  keyring: Keyring,
  workspaceId: string,
  change: ProxyChange,
): Promise<ProxyView | null> {
  const columns = storedProxy(keyring, proxyOwner(workspaceId, null), change);
  await db.query(sql.unsafe`INSERT INTO workspaces (id) VALUES (${workspaceId}) ON CONFLICT (id) DO NOTHING`);
  const row = await db.one(sql.type(proxyColumnsSchema)`
    UPDATE workspaces
    SET proxy_scheme = ${columns.scheme}, proxy_host = ${columns.host}, proxy_port = ${columns.port},
        proxy_credentials = ${columns.credentials}, updated_at = now()
    WHERE id = ${workspaceId}
    RETURNING proxy_scheme, proxy_host, proxy_port, proxy_credentials
  `);
  return proxyView(row);
}

export async function workspaceProxy(db: CommonQueryMethods, workspaceId: string): Promise<ProxyView | null> {
  const row = await db.maybeOne(sql.type(proxyColumnsSchema)`
    SELECT proxy_scheme, proxy_host, proxy_port, proxy_credentials FROM workspaces WHERE id = ${workspaceId}
  `);
  return row ? proxyView(row) : null;
}

/**
 * The proxy a session starts with: the account's own, else its workspace's, credentials opened. Called with the
 * columns db/account-start-settings.ts read for both.
 */
export function sessionProxyOf(
  keyring: Keyring,
  workspaceId: string,
  sessionId: string,
  own: ProxyColumns,
  workspace: ProxyColumns,
): SessionProxy | null {
  const [columns, owner] =
    own.proxy_host !== null ? [own, proxyOwner(workspaceId, sessionId)] : [workspace, proxyOwner(workspaceId, null)];
  const view = proxyView(columns);
  if (!view) return null;
  const scheme: ProxyScheme = view.scheme;
  return {
    scheme,
    host: view.host,
    port: view.port,
    credentials: columns.proxy_credentials ? openProxyCredentials(keyring, owner, columns.proxy_credentials) : null,
  };
}

/**
 * Seals every stored proxy login with the keyring's active key (after a rotation, before the old key is dropped).
 * Answers how many settings moved and the ones that could not be opened (`<workspace>` or `<workspace>/<session>`).
 */
export async function reencryptProxyCredentials(
  db: CommonQueryMethods,
  keyring: Keyring,
): Promise<{ moved: number; unreadable: string[] }> {
  const active = `${SEALED_PREFIX}${keyring.activeKeyId}:`;
  const rows = await db.any(sql.type(
    z.object({ kind: z.enum(['account', 'workspace']), id: z.string(), owner: z.string(), sealed: z.string() }),
  )`
    SELECT 'account' AS kind, id::text AS id, workspace_id || '/' || session_id AS owner, proxy_credentials AS sealed
    FROM whatsapp_accounts WHERE proxy_credentials IS NOT NULL AND NOT starts_with(proxy_credentials, ${active})
    UNION ALL
    SELECT 'workspace', id, id, proxy_credentials
    FROM workspaces WHERE proxy_credentials IS NOT NULL AND NOT starts_with(proxy_credentials, ${active})
  `);
  let moved = 0;
  const unreadable: string[] = [];
  for (const row of rows) {
    let resealed: string;
    try {
      resealed = sealProxyCredentials(keyring, row.owner, openProxyCredentials(keyring, row.owner, row.sealed));
    } catch {
      unreadable.push(row.owner);
      continue;
    }
    const table = sql.identifier([row.kind === 'account' ? 'whatsapp_accounts' : 'workspaces']);
    const id = row.kind === 'account' ? sql.fragment`id = ${Number(row.id)}` : sql.fragment`id = ${row.id}`;
    const updated = await db.query(sql.unsafe`
      UPDATE ${table} SET proxy_credentials = ${resealed} WHERE ${id} AND proxy_credentials = ${row.sealed}
    `);
    moved += updated.rowCount;
  }
  return { moved, unreadable };
}

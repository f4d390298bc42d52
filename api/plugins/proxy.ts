import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { findAccountBySession } from '../../db/accounts.js';
import { setAccountProxy, setWorkspaceProxy, workspaceProxy } from '../../db/proxy-settings.js';
import { accountFor, accountNotFound } from '../account-access.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { ProxySettingBody, ProxyViewSchema, proxyChangeOf, toProxyView } from '../proxy-setting.js';
import { AccountParams, Nullable, problemResponses, WorkspaceParams } from '../schemas.js';
import type { WorkspaceServices } from '../workspace-services.js';

const WorkspaceProxy = Type.Object(
  { workspaceId: Type.String(), proxy: Nullable(ProxyViewSchema) },
  { additionalProperties: false },
);

/**
 * The proxy a session goes out through: per account, with a workspace default. Read at each session start, so a
 * change applies from the next (POST .../restart applies it now, from the saved login, no scan). Credentials are
 * sealed as they arrive and never shown again: a setting shows its scheme, host and port, and whether it has a login.
 */
export default async function proxyPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, keyring, proxyPolicy } = options;

  app.put(
    '/accounts/:sessionId/proxy',
    {
      schema: {
        summary:
          "Set the proxy this account's session goes out through (url null: none of its own, the workspace default applies); applied at its next start",
        tags: ['accounts'],
        params: AccountParams,
        body: ProxySettingBody,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => {
      const change = proxyChangeOf(request.body, '/url', proxyPolicy);
      const row = await accountFor(pool, request.params);
      const account = { id: row.id, workspaceId: row.workspace_id, sessionId: row.session_id };
      await setAccountProxy(pool, keyring, account, change);
      const updated = await findAccountBySession(pool, row.workspace_id, row.session_id);
      if (!updated || updated.deleted_at !== null) throw accountNotFound(request.params);
      return toAccountView(updated);
    },
  );

  app.get(
    '/proxy',
    {
      schema: {
        summary: "The workspace's default proxy, for its accounts that set none of their own",
        tags: ['accounts'],
        params: WorkspaceParams,
        response: { 200: WorkspaceProxy, ...problemResponses },
      },
    },
    async (request) => ({
      workspaceId: request.params.workspaceId,
      proxy: toProxyView(await workspaceProxy(pool, request.params.workspaceId)),
    }),
  );

  app.put(
    '/proxy',
    {
      schema: {
        summary: "Set the workspace's default proxy (url null: none); applied at each of its accounts' next start",
        tags: ['accounts'],
        params: WorkspaceParams,
        body: ProxySettingBody,
        response: { 200: WorkspaceProxy, ...problemResponses },
      },
    },
    async (request) => {
      const change = proxyChangeOf(request.body, '/url', proxyPolicy);
      const { workspaceId } = request.params;
      return { workspaceId, proxy: toProxyView(await setWorkspaceProxy(pool, keyring, workspaceId, change)) };
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { webhookSecrets } from '../../db/webhook-secrets.js';
import type { Keyring } from '../../lib/keyring.js';
import { setWebhookSetting, webhookSettingUrl } from '../../db/webhook-endpoints.js';
import { ensureWorkspace, rotateWorkspaceWebhookSecret } from '../../db/workspaces.js';
import { Type } from 'typebox';
import { accountFor } from '../account-access.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { AccountParams, Nullable, problemResponses, webhookUrlSchema, WorkspaceParams } from '../schemas.js';

const WorkspaceWebhookBody = Type.Object(
  {
    webhookUrl: Type.Union([webhookUrlSchema, Type.Null()]),
    rotateSecret: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
const AccountWebhookBody = Type.Object(
  { webhookUrl: Type.Union([webhookUrlSchema, Type.Null()]) },
  { additionalProperties: false },
);

const WebhookSettings = Type.Object(
  {
    workspaceId: Type.String(),
    webhookUrl: Nullable(Type.String()),
    webhookSecret: Type.String({
      description: 'HMAC secret deliveries are signed with (X-HMAC-Signature and webhook-signature)',
    }),
  },
  { additionalProperties: false },
);

const view = async (pool: DatabasePool, keyring: Keyring, workspaceId: string) => {
  const secrets = await webhookSecrets(pool, keyring, workspaceId);
  if (!secrets) throw new Error(`workspace ${workspaceId} is gone`);
  return {
    workspaceId,
    webhookUrl: await webhookSettingUrl(pool, workspaceId, null),
    webhookSecret: secrets.current,
  };
};

/**
 * The single-URL webhook settings: the workspace's URL and signing secret, and an account's own URL, which replaces
 * the workspace's for that account. Each is a webhook endpoint (api/plugins/webhook-endpoints.ts) sent every event.
 */
export default async function webhooksPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool } = options;
  app.get(
    '/webhook',
    {
      schema: {
        summary: "The workspace's default webhook URL and signing secret",
        tags: ['webhooks'],
        params: WorkspaceParams,
        response: { 200: WebhookSettings, ...problemResponses },
      },
    },
    async (request) => {
      await ensureWorkspace(pool, request.params.workspaceId);
      return view(pool, options.keyring, request.params.workspaceId);
    },
  );

  app.put(
    '/webhook',
    {
      schema: {
        summary: "Set the workspace's default webhook URL (null: none); rotateSecret issues a new signing secret",
        tags: ['webhooks'],
        params: WorkspaceParams,
        body: WorkspaceWebhookBody,
        response: { 200: WebhookSettings, ...problemResponses },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      assertWebhookUrl(request.body.webhookUrl, options.webhookPolicy);
      await pool.transaction(async (tx) => {
        await ensureWorkspace(tx, workspaceId);
        await setWebhookSetting(tx, { workspaceId, accountId: null, url: request.body.webhookUrl });
        if (request.body.rotateSecret) await rotateWorkspaceWebhookSecret(tx, workspaceId);
      });
      return view(pool, options.keyring, workspaceId);
    },
  );

  app.put(
    '/accounts/:sessionId/webhook',
    {
      schema: {
        summary:
          "Set (or clear, with null) the account's own webhook URL; without one, the workspace's default applies",
        tags: ['webhooks'],
        params: AccountParams,
        body: AccountWebhookBody,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      assertWebhookUrl(request.body.webhookUrl, options.webhookPolicy);
      await setWebhookSetting(pool, { workspaceId: row.workspace_id, accountId: row.id, url: request.body.webhookUrl });
      return toAccountView(await accountFor(pool, request.params));
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { webhookSecrets } from '../../db/webhook-secrets.js';
import type { Keyring } from '../../lib/keyring.js';
import { setAccountWebhookUrl } from '../../db/accounts.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { ensureWorkspace, updateWorkspaceWebhook, type WorkspaceRow } from '../../db/workspaces.js';
import { Type } from 'typebox';
import { accountFor } from '../account-access.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import {
  AccountParams,
  Nullable,
  problemResponses,
  QueryWithDefaults,
  webhookUrlSchema,
  WorkspaceParams,
} from '../schemas.js';

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
const DeliveriesQuery = QueryWithDefaults(
  Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) }, { additionalProperties: false }),
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

const view = async (pool: DatabasePool, keyring: Keyring, row: WorkspaceRow) => {
  const secrets = await webhookSecrets(pool, keyring, row.id);
  if (!secrets) throw new Error(`workspace ${row.id} is gone`);
  return { workspaceId: row.id, webhookUrl: row.webhook_url, webhookSecret: secrets.current };
};

/** Webhooks: the workspace's default URL and signing secret, an account's own URL, and every delivery attempt. */
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
      return view(pool, options.keyring, await ensureWorkspace(pool, request.params.workspaceId));
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
      assertWebhookUrl(request.body.webhookUrl, options.webhookPolicy);
      return view(
        pool,
        options.keyring,
        await updateWorkspaceWebhook(
          pool,
          request.params.workspaceId,
          request.body.webhookUrl,
          request.body.rotateSecret ?? false,
        ),
      );
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
      await setAccountWebhookUrl(pool, row.id, request.body.webhookUrl);
      return toAccountView(await accountFor(pool, request.params));
    },
  );

  app.get(
    '/accounts/:sessionId/webhook-deliveries',
    {
      schema: {
        summary: 'Every webhook delivery attempt of the account, newest first: status code, latency, error',
        tags: ['webhooks'],
        params: AccountParams,
        querystring: DeliveriesQuery,
        response: {
          200: {
            type: 'object',
            required: ['items'],
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    eventId: { type: 'integer' },
                    url: { type: 'string' },
                    attempt: { type: 'integer' },
                    delivered: { type: 'boolean' },
                    statusCode: { type: ['integer', 'null'] },
                    latencyMs: { type: ['integer', 'null'] },
                    error: { type: ['string', 'null'] },
                    attemptedAt: { type: 'string', format: 'date-time' },
                  },
                  additionalProperties: false,
                },
              },
            },
            additionalProperties: false,
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      const deliveries = await listDeliveries(pool, row.workspace_id, row.session_id, request.query.limit);
      return {
        items: deliveries.map((d) => ({
          eventId: d.event_id,
          url: d.url,
          attempt: d.attempt,
          delivered: d.delivered,
          statusCode: d.status_code,
          latencyMs: d.latency_ms,
          error: d.error,
          attemptedAt: new Date(d.attempted_at).toISOString(),
        })),
      };
    },
  );
}

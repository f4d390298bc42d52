import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { webhookSecrets } from '../../db/webhook-secrets.js';
import type { Keyring } from '../../lib/keyring.js';
import { setAccountWebhookUrl } from '../../db/accounts.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { ensureWorkspace, updateWorkspaceWebhook, type WorkspaceRow } from '../../db/workspaces.js';
import { accountFor, type AccountParams } from '../account-access.js';
import type { AccountCommandDeps } from '../account-commands.js';
import { toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { webhookUrlSchema, workspaceIdSchema } from '../schemas.js';
import { accountParams } from './accounts.js';

const problems = { '4xx': { $ref: 'ProblemDetails#' } } as const;

const settingsSchema = {
  type: 'object',
  required: ['workspaceId', 'webhookUrl', 'webhookSecret'],
  properties: {
    workspaceId: { type: 'string' },
    webhookUrl: { type: ['string', 'null'] },
    webhookSecret: {
      type: 'string',
      description: 'HMAC secret deliveries are signed with (X-HMAC-Signature and webhook-signature)',
    },
  },
  additionalProperties: false,
} as const;

const view = async (pool: DatabasePool, keyring: Keyring, row: WorkspaceRow) => {
  const secrets = await webhookSecrets(pool, keyring, row.id);
  if (!secrets) throw new Error(`workspace ${row.id} is gone`);
  return { workspaceId: row.id, webhookUrl: row.webhook_url, webhookSecret: secrets.current };
};

/** Webhooks: the workspace's default URL and signing secret, an account's own URL, and every delivery attempt. */
export default async function webhooksPlugin(app: FastifyInstance, options: AccountCommandDeps) {
  const { pool } = options;
  const params = {
    type: 'object',
    required: ['workspaceId'],
    properties: { workspaceId: workspaceIdSchema },
    additionalProperties: false,
  } as const;

  app.get<{ Params: { workspaceId: string } }>(
    '/webhook',
    {
      schema: {
        summary: "The workspace's default webhook URL and signing secret",
        tags: ['webhooks'],
        params,
        response: { 200: settingsSchema, '4xx': { $ref: 'ProblemDetails#' } },
      },
    },
    async (request) => {
      return view(pool, options.keyring, await ensureWorkspace(pool, request.params.workspaceId));
    },
  );

  app.put<{ Params: { workspaceId: string }; Body: { webhookUrl: string | null; rotateSecret?: boolean } }>(
    '/webhook',
    {
      schema: {
        summary: "Set the workspace's default webhook URL (null: none); rotateSecret issues a new signing secret",
        tags: ['webhooks'],
        params,
        body: {
          type: 'object',
          required: ['webhookUrl'],
          properties: {
            webhookUrl: { anyOf: [webhookUrlSchema, { type: 'null' }] },
            rotateSecret: { type: 'boolean', default: false },
          },
          additionalProperties: false,
        },
        response: { 200: settingsSchema, '4xx': { $ref: 'ProblemDetails#' } },
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

  app.put<{ Params: AccountParams; Body: { webhookUrl: string | null } }>(
    '/accounts/:sessionId/webhook',
    {
      schema: {
        summary:
          "Set (or clear, with null) the account's own webhook URL; without one, the workspace's default applies",
        tags: ['webhooks'],
        params: accountParams,
        body: {
          type: 'object',
          required: ['webhookUrl'],
          properties: { webhookUrl: { anyOf: [webhookUrlSchema, { type: 'null' }] } },
          additionalProperties: false,
        },
        response: { 200: { $ref: 'Account#' }, ...problems },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      assertWebhookUrl(request.body.webhookUrl, options.webhookPolicy);
      await setAccountWebhookUrl(pool, row.id, request.body.webhookUrl);
      return toAccountView(await accountFor(pool, request.params));
    },
  );

  app.get<{ Params: AccountParams; Querystring: { limit: number } }>(
    '/accounts/:sessionId/webhook-deliveries',
    {
      schema: {
        summary: 'Every webhook delivery attempt of the account, newest first: status code, latency, error',
        tags: ['webhooks'],
        params: accountParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
          additionalProperties: false,
        },
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
          ...problems,
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

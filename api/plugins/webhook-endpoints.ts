import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { findAccountBySession } from '../../db/accounts.js';
import { countFailedEvents } from '../../db/webhook-deliveries.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  endpointSecrets,
  findWebhookEndpoint,
  listWebhookEndpoints,
  updateWebhookEndpoint,
  type WebhookEndpointRow,
} from '../../db/webhook-endpoints.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { accountNotFound } from '../account-access.js';
import { HttpProblem, problem } from '../problem.js';
import { problemResponses, sessionIdSchema, WorkspaceParams, workspaceIdSchema } from '../schemas.js';
import { assertWebhookUrl } from '../webhook-url.js';
import {
  CreateWebhookEndpointBody,
  endpointIdSchema,
  toEndpointView,
  UpdateWebhookEndpointBody,
  WebhookEndpointView,
  WebhookEndpointWithSecret,
} from '../webhook-endpoint-view.js';
import type { WorkspaceServices } from '../workspace-services.js';

export const EndpointParams = Type.Object(
  { workspaceId: workspaceIdSchema, endpointId: endpointIdSchema },
  { additionalProperties: false },
);

export function endpointNotFound(params: { workspaceId: string; endpointId: string }): HttpProblem {
  return new HttpProblem(
    problem(
      404,
      'webhook_endpoint_not_found',
      'Not Found',
      `no webhook endpoint ${params.endpointId} in workspace ${params.workspaceId}`,
    ),
  );
}

const ListQuery = Type.Object({ sessionId: Type.Optional(sessionIdSchema) }, { additionalProperties: false });

/**
 * Webhook endpoints: where the workspace's events go, each with the event types it wants, its own signing secret, and
 * enabled or not. An account may hold endpoints of its own (`sessionId`); the single-URL settings (PUT .../webhook)
 * show here as endpoints too.
 */
export default async function webhookEndpointsPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, keyring } = options;

  const withSecret = async (row: WebhookEndpointRow) => {
    const secrets = await endpointSecrets(pool, keyring, row);
    if (!secrets) throw new Error(`the secret of webhook endpoint ${row.id} is gone`);
    return { ...toEndpointView(row), signingSecret: secrets.current };
  };

  const accountIdOf = async (workspaceId: string, sessionId: string) => {
    const account = await findAccountBySession(pool, workspaceId, sessionId);
    if (!account || account.deleted_at !== null) throw accountNotFound({ workspaceId, sessionId });
    return account.id;
  };

  app.get(
    '/webhook-endpoints',
    {
      schema: {
        summary: "The workspace's webhook endpoints, oldest first (with sessionId: that account's own)",
        tags: ['webhooks'],
        params: WorkspaceParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(WebhookEndpointView) }, { additionalProperties: false }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const accountId =
        request.query.sessionId === undefined ? undefined : await accountIdOf(workspaceId, request.query.sessionId);
      return { items: (await listWebhookEndpoints(pool, workspaceId, accountId)).map(toEndpointView) };
    },
  );

  app.post(
    '/webhook-endpoints',
    {
      schema: {
        summary:
          'Add a webhook endpoint: its URL, the event types it wants (all when left out), and for an account only, its sessionId; answers its signing secret',
        tags: ['webhooks'],
        params: WorkspaceParams,
        body: CreateWebhookEndpointBody,
        response: { 201: WebhookEndpointWithSecret, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const body = request.body;
      assertWebhookUrl(body.url, options.webhookPolicy, '/url');
      await ensureWorkspace(pool, workspaceId);
      const accountId = body.sessionId === undefined ? null : await accountIdOf(workspaceId, body.sessionId);
      const row = await createWebhookEndpoint(pool, keyring, {
        workspaceId,
        accountId,
        url: body.url,
        eventTypes: body.eventTypes ?? null,
        description: body.description ?? '',
        enabled: body.enabled ?? true,
      });
      return reply.code(201).send(await withSecret(row));
    },
  );

  app.get(
    '/webhook-endpoints/:endpointId',
    {
      schema: {
        summary: 'One webhook endpoint, with its signing secret',
        tags: ['webhooks'],
        params: EndpointParams,
        response: { 200: WebhookEndpointWithSecret, ...problemResponses },
      },
    },
    async (request) => {
      const row = await findWebhookEndpoint(pool, request.params.workspaceId, request.params.endpointId);
      if (!row) throw endpointNotFound(request.params);
      return withSecret(row);
    },
  );

  app.patch(
    '/webhook-endpoints/:endpointId',
    {
      schema: {
        summary:
          'Change a webhook endpoint: URL, event types, description, enabled, or rotate its secret. Enabling one the service disabled answers what it missed and how to resend it',
        tags: ['webhooks'],
        params: EndpointParams,
        body: UpdateWebhookEndpointBody,
        response: { 200: WebhookEndpointWithSecret, ...problemResponses },
      },
    },
    async (request) => {
      const { workspaceId, endpointId } = request.params;
      const change = request.body;
      const before = await findWebhookEndpoint(pool, workspaceId, endpointId);
      if (!before) throw endpointNotFound(request.params);
      if (change.url !== undefined) assertWebhookUrl(change.url, options.webhookPolicy, '/url');
      if (before.setting !== null && (change.eventTypes !== undefined || change.rotateSecret)) {
        throw new HttpProblem(
          problem(
            409,
            'webhook_setting_endpoint',
            'Conflict',
            "this endpoint is a single-URL setting: it is sent every event type and signs with the workspace's secret (PUT .../webhook rotates it); add an endpoint of your own for a filter or a secret",
          ),
        );
      }
      const row = await updateWebhookEndpoint(pool, keyring, workspaceId, endpointId, change);
      if (!row) throw endpointNotFound(request.params);
      const view = await withSecret(row);
      if (change.enabled === true && before.disabled_reason === 'failing' && before.failing_since !== null) {
        const since = new Date(before.failing_since);
        return {
          ...view,
          missed: {
            since: since.toISOString(),
            failedEvents: await countFailedEvents(pool, { endpointId, since }),
            resend: `/v1/workspaces/${workspaceId}/webhook-endpoints/${endpointId}/resend`,
          },
        };
      }
      return view;
    },
  );

  app.delete(
    '/webhook-endpoints/:endpointId',
    {
      schema: {
        summary:
          'Remove a webhook endpoint (a single-URL setting too): its deliveries in flight stop; its delivery log stays',
        tags: ['webhooks'],
        params: EndpointParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, endpointId } = request.params;
      if (!(await deleteWebhookEndpoint(pool, workspaceId, endpointId))) throw endpointNotFound(request.params);
      return reply.code(204).send(null);
    },
  );
}

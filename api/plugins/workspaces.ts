import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { ensureWorkspace, updateWorkspaceWebhook, type WorkspaceRow } from '../../db/workspaces.js';
import { HttpProblem, problem } from '../problem.js';
import { webhookUrlSchema, workspaceIdSchema } from '../schemas.js';
import { assertWorkspaceAccess } from './auth.js';

const settingsSchema = {
  type: 'object',
  required: ['workspaceId', 'webhookUrl', 'webhookSecret'],
  properties: {
    workspaceId: { type: 'string' },
    webhookUrl: { type: ['string', 'null'] },
    webhookSecret: { type: 'string', description: 'HMAC secret deliveries are signed with (X-HMAC-Signature and webhook-signature)' },
  },
  additionalProperties: false,
} as const;

const view = (row: WorkspaceRow) => ({ workspaceId: row.id, webhookUrl: row.webhook_url, webhookSecret: row.webhook_secret });

/** A workspace's webhook default and its signing secret, for the workspace's own keys (and admins). */
export default async function workspacesPlugin(app: FastifyInstance, options: { pool: DatabasePool }) {
  const params = { type: 'object', required: ['workspaceId'], properties: { workspaceId: workspaceIdSchema }, additionalProperties: false } as const;
  const access = (request: Parameters<typeof assertWorkspaceAccess>[0], workspaceId: string) =>
    assertWorkspaceAccess(request, workspaceId, () => new HttpProblem(problem(404, 'workspace_not_found', 'Not Found', `no workspace ${workspaceId}`)));

  app.get<{ Params: { workspaceId: string } }>('/v1/workspaces/:workspaceId/webhook', {
    schema: { summary: 'The workspace\'s default webhook URL and signing secret', tags: ['webhooks'], params, response: { 200: settingsSchema, '4xx': { $ref: 'ProblemDetails#' } } },
  }, async (request) => {
    access(request, request.params.workspaceId);
    return view(await ensureWorkspace(options.pool, request.params.workspaceId));
  });

  app.put<{ Params: { workspaceId: string }; Body: { webhookUrl: string | null; rotateSecret?: boolean } }>('/v1/workspaces/:workspaceId/webhook', {
    schema: {
      summary: 'Set the workspace\'s default webhook URL (null: none); rotateSecret issues a new signing secret',
      tags: ['webhooks'],
      params,
      body: {
        type: 'object',
        required: ['webhookUrl'],
        properties: { webhookUrl: { anyOf: [webhookUrlSchema, { type: 'null' }] }, rotateSecret: { type: 'boolean', default: false } },
        additionalProperties: false,
      },
      response: { 200: settingsSchema, '4xx': { $ref: 'ProblemDetails#' } },
    },
  }, async (request) => {
    access(request, request.params.workspaceId);
    return view(await updateWorkspaceWebhook(options.pool, request.params.workspaceId, request.body.webhookUrl, request.body.rotateSecret ?? false));
  });
}

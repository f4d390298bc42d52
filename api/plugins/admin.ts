import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { createApiKey, revokeApiKey, setWorkspaceAccountLimit } from '../../db/workspaces.js';
import { HttpProblem, problem } from '../problem.js';
import { workspaceIdSchema } from '../schemas.js';
import { assertAdmin } from './auth.js';

/** Operators' routes (admin keys only): issue and revoke API keys, set a workspace's limits. */
export default async function adminPlugin(app: FastifyInstance, options: { pool: DatabasePool }) {
  app.post<{ Body: { workspaceId: string | null; name: string } }>(
    '/v1/admin/api-keys',
    {
      schema: {
        summary:
          'Issue an API key for a workspace (or, with workspaceId null, an admin key); the key is shown only here',
        tags: ['admin'],
        body: {
          type: 'object',
          required: ['workspaceId', 'name'],
          properties: {
            workspaceId: { anyOf: [workspaceIdSchema, { type: 'null' }] },
            name: { type: 'string', minLength: 1, maxLength: 100 },
          },
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            required: ['key', 'prefix', 'workspaceId'],
            properties: {
              key: { type: 'string' },
              prefix: { type: 'string' },
              workspaceId: { type: ['string', 'null'] },
            },
            additionalProperties: false,
          },
          '4xx': { $ref: 'ProblemDetails#' },
        },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      const created = await createApiKey(options.pool, {
        workspaceId: request.body.workspaceId,
        name: request.body.name,
      });
      return reply.code(201).send({ ...created, workspaceId: request.body.workspaceId });
    },
  );

  app.delete<{ Params: { prefix: string } }>(
    '/v1/admin/api-keys/:prefix',
    {
      schema: {
        summary: 'Revoke an API key by its prefix',
        tags: ['admin'],
        params: {
          type: 'object',
          required: ['prefix'],
          properties: { prefix: { type: 'string', pattern: '^wak_[0-9a-f]{12}$' } },
          additionalProperties: false,
        },
        response: { 204: { type: 'null' }, '4xx': { $ref: 'ProblemDetails#' } },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      if (!(await revokeApiKey(options.pool, request.params.prefix)))
        throw new HttpProblem(problem(404, 'api_key_not_found', 'Not Found', 'no active key with that prefix'));
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { workspaceId: string }; Body: { maxLiveAccounts: number | null } }>(
    '/v1/admin/workspaces/:workspaceId/limits',
    {
      schema: {
        summary: "Set a workspace's limit of live accounts (null: the service's default)",
        tags: ['admin'],
        params: {
          type: 'object',
          required: ['workspaceId'],
          properties: { workspaceId: workspaceIdSchema },
          additionalProperties: false,
        },
        body: {
          type: 'object',
          required: ['maxLiveAccounts'],
          properties: { maxLiveAccounts: { type: ['integer', 'null'], minimum: 0, maximum: 100_000 } },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            required: ['workspaceId', 'maxLiveAccounts'],
            properties: { workspaceId: { type: 'string' }, maxLiveAccounts: { type: ['integer', 'null'] } },
            additionalProperties: false,
          },
          '4xx': { $ref: 'ProblemDetails#' },
        },
      },
    },
    async (request) => {
      assertAdmin(request);
      const row = await setWorkspaceAccountLimit(
        options.pool,
        request.params.workspaceId,
        request.body.maxLiveAccounts,
      );
      return { workspaceId: row.id, maxLiveAccounts: row.max_live_accounts };
    },
  );
}

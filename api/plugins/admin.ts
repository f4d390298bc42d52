import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { createApiKey, revokeApiKey, setWorkspaceAccountLimit } from '../../db/workspaces.js';
import { HttpProblem, problem } from '../problem.js';
import { Type } from 'typebox';
import { Nullable, problemResponses, workspaceIdSchema, WorkspaceParams } from '../schemas.js';
import { assertAdmin } from './auth.js';

const NewApiKeyBody = Type.Object(
  {
    workspaceId: Type.Union([workspaceIdSchema, Type.Null()]),
    name: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);
const NewApiKey = Type.Object(
  { key: Type.String(), prefix: Type.String(), workspaceId: Nullable(Type.String()) },
  { additionalProperties: false },
);
const ApiKeyParams = Type.Object(
  { prefix: Type.String({ pattern: '^wak_[0-9a-f]{12}$' }) },
  { additionalProperties: false },
);
const WorkspaceLimits = Type.Object(
  { maxLiveAccounts: Nullable(Type.Integer({ minimum: 0, maximum: 100_000 })) },
  { additionalProperties: false },
);
const WorkspaceLimitsView = Type.Object(
  { workspaceId: Type.String(), maxLiveAccounts: Nullable(Type.Integer()) },
  { additionalProperties: false },
);

/** Operators' routes (admin keys only): issue and revoke API keys, set a workspace's limits. */
export default async function adminPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/admin/api-keys',
    {
      schema: {
        summary:
          'Issue an API key for a workspace (or, with workspaceId null, an admin key); the key is shown only here',
        tags: ['admin'],
        body: NewApiKeyBody,
        response: { 201: NewApiKey, ...problemResponses },
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

  app.delete(
    '/v1/admin/api-keys/:prefix',
    {
      schema: {
        summary: 'Revoke an API key by its prefix',
        tags: ['admin'],
        params: ApiKeyParams,
        response: { 204: { type: 'null' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      const revoked = await revokeApiKey(options.pool, request.params.prefix);
      if (!revoked)
        throw new HttpProblem(problem(404, 'api_key_not_found', 'Not Found', 'no active key with that prefix'));
      request.auditWorkspaceId = revoked.workspaceId;
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/admin/workspaces/:workspaceId/limits',
    {
      schema: {
        summary: "Set a workspace's limit of live accounts (null: the service's default)",
        tags: ['admin'],
        params: WorkspaceParams,
        body: WorkspaceLimits,
        response: { 200: WorkspaceLimitsView, ...problemResponses },
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

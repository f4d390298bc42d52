import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type } from 'typebox';
import { escalationBundle } from '../escalation-bundle.js';
import { problemResponses, QueryWithDefaults, workspaceIdSchema } from '../schemas.js';
import { assertAdmin } from './auth.js';

const BundleQuery = QueryWithDefaults(
  Type.Object(
    {
      minutes: Type.Integer({ minimum: 1, maximum: 24 * 60, default: 60, description: 'how far back events go' }),
      stuckOlderThanSeconds: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600, description: "default: each status's own" }),
      ),
      unmaskPhoneNumbers: Type.Boolean({ default: false }),
      workspaceId: Type.Optional(workspaceIdSchema),
    },
    { additionalProperties: false },
  ),
);

/** The escalation bundle: one download for the team a stuck fleet is escalated to (admin keys only). */
export default async function escalationBundlePlugin(
  fastify: FastifyInstance,
  options: { pool: DatabasePool; temporal: Client },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/admin/escalation-bundle',
    {
      schema: {
        summary:
          'One download: versions of every part, hosts, stuck accounts and their workflows, the last hour’s failures and engine events, Temporal’s health; no secrets or login codes, phone numbers masked unless asked',
        tags: ['admin'],
        querystring: BundleQuery,
        response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      const { minutes, stuckOlderThanSeconds, unmaskPhoneNumbers, workspaceId } = request.query;
      const bundle = await escalationBundle(options.pool, options.temporal, {
        minutes,
        stuckOlderThanSeconds: stuckOlderThanSeconds ?? null,
        unmaskPhoneNumbers,
        workspaceId: workspaceId ?? null,
      });
      const stamp = bundle.generatedAt.replace(/[:.]/g, '-');
      void reply
        .header('content-disposition', `attachment; filename="wa-connect-escalation-${stamp}.json"`)
        .header('cache-control', 'no-store');
      return bundle;
    },
  );
}

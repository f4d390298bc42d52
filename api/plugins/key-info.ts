import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Nullable, problemResponses } from '../schemas.js';

const KeyInfo = Type.Object(
  {
    name: Type.String({ description: 'the name the key was issued with' }),
    workspaceId: Nullable(Type.String({ description: "the key's workspace; null for an admin key" })),
    admin: Type.Boolean({ description: 'an admin key: every workspace, and the operators\u2019 routes' }),
  },
  { additionalProperties: false },
);

/** `GET /v1/key`: what the presented key is, so a backend can check its configuration and the page what to show. */
export default async function keyInfoPlugin(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/key',
    {
      schema: {
        summary: 'The key presented: its name, its workspace (null: an admin key)',
        tags: ['keys'],
        response: { 200: KeyInfo, ...problemResponses },
      },
    },
    async (request) => {
      const principal = request.principal;
      // Every /v1 route runs after authentication: a request gets here only with a principal.
      if (!principal) throw new Error('no principal after authentication');
      return { name: principal.name, workspaceId: principal.workspaceId, admin: principal.workspaceId === null };
    },
  );
}

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The OpenAPI document, built from the routes' own schemas, served at /docs/json and browsable at /docs. */
async function openApiPlugin(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'wa-connect',
        version: '1',
        description:
          'WhatsApp account connections as durable workflows. Errors are application/problem+json with a stable `code`.',
      },
      tags: [
        { name: 'accounts', description: 'Accounts of a workspace' },
        { name: 'simulator', description: "The simulated engine's phone side (only with WA_ENGINE=simulated)" },
        { name: 'events', description: 'Live account events (a WebSocket)' },
        { name: 'operations', description: 'Liveness, readiness and metrics' },
        { name: 'keys', description: 'The key a request presents' },
        { name: 'admin', description: 'Operators: keys, limits, the hosts of the fleet (admin keys only)' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

export default fp(openApiPlugin, { name: 'openapi' });

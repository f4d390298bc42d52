import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem, problem, PROBLEM_CONTENT_TYPE } from '../problem.js';

/**
 * Requests per minute, per key (per address for the public routes): after authentication, so the key is known. A
 * refusal is problem details with Retry-After. Routes may set their own limit (`config.rateLimit`).
 */
async function requestRatePlugin(app: FastifyInstance, options: { perMinute: number }) {
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`),
    // Thrown as it is: an HttpProblem keeps its own title (anything else would pass for a generic client error).
    errorResponseBuilder: (_request, context) => {
      const retryAfterSeconds = Math.ceil(context.ttl / 1000);
      return new HttpProblem(
        problem(
          429,
          'rate_limited',
          'Too Many Requests',
          `at most ${context.max} requests per minute per key; retry after ${retryAfterSeconds} s`,
          { retryAfterSeconds },
        ),
      );
    },
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 429) void reply.type(PROBLEM_CONTENT_TYPE);
    return payload;
  });
}

export default fp(requestRatePlugin, { name: 'request-rate', dependencies: ['auth'] });

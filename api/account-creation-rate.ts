import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem, problem } from './problem.js';

/** Runs before an account is created: refuses it when the key created too many in the last minute. */
export type AccountCreationGate = (request: FastifyRequest) => Promise<void>;

/**
 * Each account may start a Chromium, so creating them has a budget of its own, far below the general request rate,
 * per key (per address for key-less seed requests), shared by every route that creates accounts.
 */
export function accountCreationGate(app: FastifyInstance, perMinute: number): AccountCreationGate {
  const limiter = app.createRateLimit({ max: perMinute, timeWindow: 60_000 });
  return async (request) => {
    const verdict = await limiter(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    throw new HttpProblem(
      problem(
        429,
        'account_creation_rate_limited',
        'Too Many Requests',
        `at most ${perMinute} accounts created per minute per key; retry after ${verdict.ttlInSeconds} s`,
        { retryAfterSeconds: verdict.ttlInSeconds },
      ),
    );
  };
}

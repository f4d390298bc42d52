import type { FastifyInstance } from 'fastify';
import { problem, PROBLEM_CONTENT_TYPE } from '../problem.js';

/** A dependency check: resolves when the dependency answers, rejects with why it does not. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  checkTimeoutMs?: number;
}

const checkResultSchema = {
  type: 'object',
  required: ['ok', 'latencyMs'],
  properties: { ok: { type: 'boolean' }, latencyMs: { type: 'integer' }, error: { type: 'string' } },
  additionalProperties: false,
} as const;

/** `/health`: the process is up. `/ready`: every dependency answers, else 503 naming the ones that do not. */
export default async function healthPlugin(app: FastifyInstance, options: HealthOptions) {
  const timeoutMs = options.checkTimeoutMs ?? 2_000;

  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            required: ['status'],
            properties: { status: { type: 'string', enum: ['ok'] } },
            additionalProperties: false,
          },
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { auth: 'public' },
      schema: {
        summary: 'Readiness: Temporal and PostgreSQL answer',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            required: ['status', 'checks'],
            properties: {
              status: { type: 'string', enum: ['ready'] },
              checks: { type: 'object', additionalProperties: checkResultSchema },
            },
            additionalProperties: false,
          },
          503: { $ref: 'ProblemDetails#' },
        },
      },
    },
    async (request, reply) => {
      const entries = await Promise.all(
        Object.entries(options.checks).map(async ([name, check]) => {
          const { result, failure } = await runCheck(check, timeoutMs);
          // The driver's words name internal addresses and ports: the log has them, the public answer does not.
          if (failure !== undefined) request.log.warn({ check: name, err: failure }, 'readiness check failed');
          return [name, result] as const;
        }),
      );
      const checks = Object.fromEntries(entries);
      const failing = entries.filter(([, result]) => !result.ok).map(([name, result]) => `${name} (${result.error})`);
      if (failing.length === 0) return { status: 'ready' as const, checks };
      return reply
        .code(503)
        .type(PROBLEM_CONTENT_TYPE)
        .send(problem(503, 'not_ready', 'Service Unavailable', `unreachable: ${failing.join('; ')}`, { checks }));
    },
  );
}

async function runCheck(
  check: ReadinessCheck,
  timeoutMs: number,
): Promise<{ result: { ok: boolean; latencyMs: number; error?: string }; failure?: unknown }> {
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const pending = check();
  // A check that loses the race may still reject later; observe it so it never surfaces as an uncaught rejection.
  pending.catch(() => undefined);
  try {
    const answered = await Promise.race([
      pending.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    const latencyMs = Math.round(performance.now() - startedAt);
    if (answered) return { result: { ok: true, latencyMs } };
    return { result: { ok: false, latencyMs, error: `no answer within ${timeoutMs} ms` } };
  } catch (error) {
    return {
      result: { ok: false, latencyMs: Math.round(performance.now() - startedAt), error: 'failed' },
      failure: error,
    };
  } finally {
    clearTimeout(timer);
  }
}

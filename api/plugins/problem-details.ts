import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { unavailableDependency } from '../dependency-outage.js';
import { HttpProblem, problem, PROBLEM_CONTENT_TYPE, problemSchema, type ProblemDetails } from '../problem.js';

/** Long enough for a connection to be re-established, short enough that a retrying client barely notices. */
const DEPENDENCY_RETRY_AFTER_SECONDS = 2;

/** Every error leaves as application/problem+json with a stable code; a stack trace never does. */
async function problemDetailsPlugin(app: FastifyInstance) {
  app.addSchema(problemSchema);

  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send(problem(404, 'route_not_found', 'Not Found', `no route for ${request.method} ${shortPath(request.url)}`));
  });

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    let details: ProblemDetails;
    const dependency = error instanceof HttpProblem ? null : unavailableDependency(error);
    if (error instanceof HttpProblem) {
      details = error.details;
    } else if (error.validation) {
      details = problem(
        400,
        'validation_failed',
        'Request is invalid',
        `${error.validationContext ?? 'request'}${error.message.replace(/^[a-z]+/, '')}`,
        {
          errors: error.validation.map((issue) => ({
            in: error.validationContext ?? 'body',
            field:
              issue.instancePath ||
              (issue.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ||
              (issue.params as { additionalProperty?: string }).additionalProperty ||
              '',
            message: issue.message ?? 'is invalid',
          })),
        },
      );
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors (bad JSON, too large, wrong content type) keep their status and code.
      details = problem(
        error.statusCode,
        (error.code ?? 'bad_request').toLowerCase(),
        STATUS_CODES[error.statusCode] ?? 'Bad Request',
        error.message,
      );
    } else if (dependency) {
      // Nothing in the request is wrong, and a write that failed so either never happened (one transaction) or is
      // finished by the same request sent again (creates are idempotent by session id): the client retries.
      request.log.warn({ err: error, dependency }, 'request failed: a dependency is unreachable');
      details = problem(
        503,
        `${dependency}_unavailable`,
        'Service Unavailable',
        `${dependency === 'database' ? 'PostgreSQL' : 'Temporal'} could not be reached; retry after the time Retry-After gives`,
        { retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS },
      );
    } else {
      request.log.error({ err: error }, 'request failed');
      details = problem(
        500,
        'internal_error',
        'Internal Server Error',
        'the request failed; the error is logged with its request id',
        { requestId: request.id },
      );
    }
    // A client told to slow down or to come back is told when: every 429 and 503 carries Retry-After.
    if (
      (details.status === 429 || details.status === 503) &&
      typeof details.retryAfterSeconds === 'number' &&
      !reply.hasHeader('retry-after')
    ) {
      void reply.header('retry-after', String(details.retryAfterSeconds));
    }
    void reply.code(details.status).type(PROBLEM_CONTENT_TYPE).send(details);
  });
}

/** The path of a URL, cut short: an answer never echoes kilobytes of a client's URL back. */
function shortPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

export default fp(problemDetailsPlugin, { name: 'problem-details' });

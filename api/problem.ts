/**
 * RFC 9457 problem details. `code` is the stable, machine-readable part: clients branch on it, never on `title`
 * or `detail`, which are for people.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problem(
  status: number,
  code: string,
  title: string,
  detail?: string,
  extensions: Record<string, unknown> = {},
): ProblemDetails {
  return { type: `urn:wa-connect:problem:${code}`, title, status, code, ...(detail ? { detail } : {}), ...extensions };
}

/** An error a route throws on purpose; the problem-details plugin turns it into the response. */
export class HttpProblem extends Error {
  constructor(readonly details: ProblemDetails) {
    super(details.detail ?? details.title);
  }
}

export const problemSchema = {
  $id: 'ProblemDetails',
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string' },
    detail: { type: 'string' },
  },
  additionalProperties: true,
} as const;

/** A problem about one field of the request: `errors` names it, as validation failures do. */
export function fieldProblem(status: number, code: string, title: string, field: string, message: string): HttpProblem {
  return new HttpProblem(
    problem(status, code, title, `${field}: ${message}`, { errors: [{ in: 'body', field, message }] }),
  );
}

/** A create refused because the workspace keeps its limit of live accounts (each may hold a Chromium). */
export function accountLimitProblem(error: { message: string; limit: number }): HttpProblem {
  return new HttpProblem(problem(409, 'account_limit_reached', 'Conflict', error.message, { limit: error.limit }));
}

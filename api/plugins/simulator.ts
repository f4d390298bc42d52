import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import {
  GROW_MEMORY_MAX_MEGABYTES,
  PHONE_ACTIONS,
  submitPhoneAction,
  type PhoneAction,
} from '../../engine/phone/actions.js';
import { findAccountBySession } from '../../db/accounts.js';
import { visibleAccountWithSessionId } from '../account-access.js';
import { sessionKey } from '../../domain/session-key.js';
import type { PhoneActionOutcomes } from '../../engine/phone/outcomes.js';
import { HttpProblem, problem } from '../problem.js';
import { assertWorkspaceAccess } from './auth.js';
import { phoneNumberSchema, sessionIdSchema, workspaceIdSchema } from '../schemas.js';

const scanOptions = {
  pushName: { type: ['string', 'null'], maxLength: 100 },
  readyDelayMs: { type: 'integer', minimum: 0, maximum: 600_000, description: 'delay between authenticated and ready' },
  neverReady: { type: 'boolean', description: 'ready never comes (stuck in authenticated)' },
  identityMissingLookups: {
    type: 'integer',
    minimum: 0,
    maximum: 1_000_000,
    description: 'the own number is missing for this many look-ups',
  },
  lid: {
    type: 'string',
    enum: ['none', 'resolvable', 'unresolvable'],
    description: 'the own id comes as an internal @lid id',
  },
} as const;

const BODIES: Record<PhoneAction, object | null> = {
  scan: {
    type: 'object',
    required: ['phone'],
    properties: { phone: phoneNumberSchema, ...scanOptions },
    additionalProperties: false,
  },
  enter_code: {
    type: 'object',
    required: ['code'],
    properties: { code: { type: 'string', pattern: '^[A-Z0-9]{4}-[A-Z0-9]{4}$' }, ...scanOptions },
    additionalProperties: false,
  },
  // These take no body (`curl -X POST .../drop` must work); an empty object is accepted too.
  drop: null,
  unlink: null,
  conflict: null,
  ban: null,
  hang: null,
  grow_memory: {
    type: 'object',
    required: ['megabytes'],
    properties: { megabytes: { type: 'integer', minimum: 1, maximum: GROW_MEMORY_MAX_MEGABYTES } },
    additionalProperties: false,
  },
};

const SUMMARIES: Record<PhoneAction, string> = {
  scan: 'The phone scans the QR the session shows',
  enter_code: 'The phone enters the pairing code the session shows',
  drop: 'The connection drops (transient: the session reconnects without a scan)',
  unlink: 'The phone unlinks the device (logout: the account ends)',
  conflict: 'WhatsApp Web is opened elsewhere and takes over',
  ban: 'WhatsApp bans the number',
  hang: 'WhatsApp Web stops answering (its page hangs; no event says so)',
  grow_memory: 'The session’s browser holds this many more megabytes',
};

/**
 * The simulated engine's control surface: plays the phone's side against a running service, for tests, load runs
 * and demos. Registered only when the worker runs the simulated engine.
 */
export default async function simulatorPlugin(
  app: FastifyInstance,
  options: { pool: DatabasePool; outcomes: PhoneActionOutcomes },
) {
  for (const action of PHONE_ACTIONS) {
    app.post<{
      Params: { sessionId: string };
      Querystring: { workspaceId?: string };
      Body: Record<string, unknown> | undefined;
    }>(
      `/v1/simulator/sessions/:sessionId/${action.replace('_', '-')}`,
      {
        // The phone's side, played: not a change anyone made to the service.
        config: { audit: false },
        schema: {
          summary: SUMMARIES[action],
          tags: ['simulator'],
          params: {
            type: 'object',
            required: ['sessionId'],
            properties: { sessionId: sessionIdSchema },
            additionalProperties: false,
          },
          // Session ids are per workspace: the workspace says whose session; without it, the one the key sees
          // (a workspace key's own; for an admin key, a live account first, then the oldest).
          querystring: {
            type: 'object',
            properties: { workspaceId: workspaceIdSchema },
            additionalProperties: false,
          },
          ...(BODIES[action] ? { body: BODIES[action] } : {}),
          response: {
            200: {
              type: 'object',
              required: ['applied', 'result'],
              properties: { applied: { type: 'boolean' }, result: { type: 'object', additionalProperties: true } },
              additionalProperties: false,
            },
            '4xx': { $ref: 'ProblemDetails#' },
          },
        },
      },
      async (request) => {
        const body = request.body;
        if (
          !BODIES[action] &&
          body !== undefined &&
          body !== null &&
          (typeof body !== 'object' || Object.keys(body).length > 0)
        ) {
          throw new HttpProblem(
            problem(400, 'validation_failed', 'Request is invalid', `${action} takes no body`, {
              errors: [{ in: 'body', field: '', message: 'must be empty' }],
            }),
          );
        }
        // A workspace key plays the phone only for its own accounts.
        const { workspaceId } = request.query;
        const row =
          workspaceId === undefined
            ? await visibleAccountWithSessionId(options.pool, request, request.params.sessionId)
            : await findAccountBySession(options.pool, workspaceId, request.params.sessionId);
        const noSession = () =>
          new HttpProblem(
            problem(404, 'no_simulated_session', 'Not Found', 'no running simulated session with this id'),
          );
        // No account, or one that has ended: no worker runs a session for it, so there is nobody to wait for.
        if (!row || row.deleted_at !== null || row.status === 'failed') throw noSession();
        if (request.principal?.workspaceId !== null) assertWorkspaceAccess(request, row.workspace_id, noSession);
        const outcome = await submitPhoneAction(
          options.pool,
          sessionKey(row.workspace_id, row.session_id),
          action,
          request.body ?? {},
          {
            nextChange: options.outcomes.nextChange,
          },
        );
        if (outcome.state === 'rejected') {
          const code = typeof outcome.result.error === 'string' ? outcome.result.error : 'rejected';
          const [status, title] =
            code === 'no_simulated_session'
              ? [404, 'Not Found']
              : code === 'memory_growth_limit'
                ? [400, 'Bad Request']
                : code === 'phone_action_lost'
                  ? [503, 'Service Unavailable']
                  : [409, 'Conflict'];
          throw new HttpProblem(
            problem(
              status,
              code,
              title,
              typeof outcome.result.message === 'string'
                ? outcome.result.message
                : 'the simulated phone refused the action',
            ),
          );
        }
        return { applied: true, result: outcome.result };
      },
    );
  }
}

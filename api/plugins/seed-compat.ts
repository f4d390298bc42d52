import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccountRow } from '../../db/accounts.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { visibleAccountWithSessionId, workspaceNotFound } from '../account-access.js';
import { deleteAccount, type AccountCommandDeps } from '../account-commands.js';
import { toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { createAccount, createRefusal } from '../create-account.js';
import { HttpProblem, problem } from '../problem.js';
import { sessionIdSchema, webhookUrlSchema } from '../schemas.js';
import { assertWorkspaceAccess } from './auth.js';

/**
 * The seed's Node service endpoints, same paths and request shapes, so its backend can point here unchanged
 * (see its troubleshooting guide). New integrations use /v1.
 */
export default async function seedCompatPlugin(app: FastifyInstance, options: AccountCommandDeps) {
  const { pool, temporal, taskQueue } = options;
  const sessionView = (row: AccountRow) => {
    const view = toAccountView(row);
    return {
      success: true,
      sessionId: view.sessionId,
      workspaceId: view.workspaceId,
      status: view.status,
      phoneNumber: view.phoneNumber,
      isPrimary: view.isPrimary,
      qrCode: view.qr?.value ?? null,
      failureReason: view.failureReason,
      detail: view.detail,
    };
  };
  const sessionSchema = {
    type: 'object',
    required: ['success', 'sessionId', 'status'],
    properties: {
      success: { type: 'boolean' },
      sessionId: { type: 'string' },
      workspaceId: { type: 'string' },
      status: { type: 'string' },
      phoneNumber: { type: ['string', 'null'] },
      isPrimary: { type: 'boolean' },
      qrCode: { type: ['string', 'null'] },
      failureReason: { type: ['string', 'null'] },
      detail: { type: 'string' },
    },
    additionalProperties: false,
  } as const;
  const visibleSession = async (request: FastifyRequest, sessionId: string) => {
    // Two workspaces this request may touch can both hold the id: visibleAccountWithSessionId picks one the same
    // way every time (a live account first, then the oldest).
    const row = await visibleAccountWithSessionId(pool, request, sessionId);
    if (!row) throw new HttpProblem(problem(404, 'session_not_found', 'Session not found', `no session ${sessionId}`));
    return row;
  };

  app.post<{ Body: { sessionId: string; workspaceId: string | number; webhookUrl?: string } }>(
    '/api/session/init',
    {
      config: { auth: 'seed' },
      schema: {
        summary: 'Seed-compatible: start a session (QR login)',
        tags: ['seed-compatible'],
        body: {
          type: 'object',
          required: ['sessionId', 'workspaceId'],
          properties: {
            sessionId: sessionIdSchema,
            workspaceId: {
              anyOf: [
                { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
                { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
              ],
            },
            webhookUrl: webhookUrlSchema,
          },
          additionalProperties: false,
        },
        response: { 200: sessionSchema, 201: sessionSchema, '4xx': { $ref: 'ProblemDetails#' } },
      },
    },
    async (request, reply) => {
      const workspaceId = String(request.body.workspaceId);
      assertWorkspaceAccess(request, workspaceId, () => workspaceNotFound(workspaceId));
      assertWebhookUrl(request.body.webhookUrl, options.webhookPolicy);
      try {
        await ensureWorkspace(pool, workspaceId);
        const { row, created } = await createAccount(pool, temporal, {
          workspaceId,
          sessionId: request.body.sessionId,
          taskQueue,
          webhookUrl: request.body.webhookUrl ?? null,
          defaultLiveAccountLimit: options.liveAccountLimit,
          takeCreation: () => options.accountCreationGate(request),
        });
        return reply.code(created ? 201 : 200).send(sessionView(row));
      } catch (error) {
        throw createRefusal(error);
      }
    },
  );

  const params = {
    type: 'object',
    required: ['sessionId'],
    properties: { sessionId: sessionIdSchema },
    additionalProperties: false,
  } as const;

  app.get<{ Params: { sessionId: string } }>(
    '/api/session/:sessionId/status',
    {
      config: { auth: 'seed' },
      schema: {
        summary: "Seed-compatible: a session's status",
        tags: ['seed-compatible'],
        params,
        response: { 200: sessionSchema, '4xx': { $ref: 'ProblemDetails#' } },
      },
    },
    async (request) => sessionView(await visibleSession(request, request.params.sessionId)),
  );

  app.delete<{ Params: { sessionId: string } }>(
    '/api/session/:sessionId',
    {
      config: { auth: 'seed' },
      schema: {
        summary: 'Seed-compatible: end a session (logout, client stopped, auth removed, row soft-deleted)',
        tags: ['seed-compatible'],
        params,
        response: {
          200: {
            type: 'object',
            required: ['success'],
            properties: { success: { type: 'boolean' }, sessionId: { type: 'string' } },
            additionalProperties: false,
          },
          '4xx': { $ref: 'ProblemDetails#' },
        },
      },
    },
    async (request) => {
      const row = await visibleSession(request, request.params.sessionId);
      await deleteAccount(options, row);
      return { success: true, sessionId: row.session_id };
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AccountRow } from '../../db/accounts.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { visibleAccountWithSessionId, workspaceNotFound } from '../account-access.js';
import { deleteAccount } from '../account-commands.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { createAccount, createRefusal } from '../create-account.js';
import { HttpProblem, problem } from '../problem.js';
import { Nullable, problemResponses, sessionIdSchema, webhookUrlSchema } from '../schemas.js';
import { assertWorkspaceAccess } from './auth.js';

const SessionView = Type.Object(
  {
    success: Type.Boolean(),
    sessionId: Type.String(),
    workspaceId: Type.Optional(Type.String()),
    status: Type.String(),
    phoneNumber: Type.Optional(Nullable(Type.String())),
    isPrimary: Type.Optional(Type.Boolean()),
    qrCode: Type.Optional(Nullable(Type.String())),
    failureReason: Type.Optional(Nullable(Type.String())),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const InitSessionBody = Type.Object(
  {
    sessionId: sessionIdSchema,
    workspaceId: Type.Union([
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
      Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    ]),
    webhookUrl: Type.Optional(webhookUrlSchema),
  },
  { additionalProperties: false },
);

const SessionParams = Type.Object({ sessionId: sessionIdSchema }, { additionalProperties: false });

const SessionEnded = Type.Object(
  { success: Type.Boolean(), sessionId: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

/**
 * The earlier Node service's session endpoints, same paths and request shapes, so its backend can point here unchanged
 * (see its troubleshooting guide). New integrations use /v1.
 */
export default async function legacySessionApiPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal, taskQueue } = options;
  const sessionView = (row: AccountRow): Static<typeof SessionView> => {
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
  const visibleSession = async (request: FastifyRequest, sessionId: string) => {
    // Two workspaces this request may touch can both hold the id: visibleAccountWithSessionId picks one the same
    // way every time (a live account first, then the oldest).
    const row = await visibleAccountWithSessionId(pool, request, sessionId);
    if (!row) throw new HttpProblem(problem(404, 'session_not_found', 'Session not found', `no session ${sessionId}`));
    return row;
  };

  app.post(
    '/api/session/init',
    {
      config: { auth: 'legacy' },
      schema: {
        summary: 'Legacy session API: start a session (QR login)',
        tags: ['legacy-session-api'],
        body: InitSessionBody,
        response: { 200: SessionView, 201: SessionView, ...problemResponses },
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

  app.get(
    '/api/session/:sessionId/status',
    {
      config: { auth: 'legacy' },
      schema: {
        summary: "Legacy session API: a session's status",
        tags: ['legacy-session-api'],
        params: SessionParams,
        response: { 200: SessionView, ...problemResponses },
      },
    },
    async (request) => sessionView(await visibleSession(request, request.params.sessionId)),
  );

  app.delete(
    '/api/session/:sessionId',
    {
      config: { auth: 'legacy' },
      schema: {
        summary: 'Legacy session API: end a session (logout, client stopped, auth removed, row soft-deleted)',
        tags: ['legacy-session-api'],
        params: SessionParams,
        response: { 200: SessionEnded, ...problemResponses },
      },
    },
    async (request) => {
      const row = await visibleSession(request, request.params.sessionId);
      await deleteAccount(options, row);
      return { success: true, sessionId: row.session_id };
    },
  );
}

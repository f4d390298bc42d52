import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import QRCode from 'qrcode';
import { makePrimary } from '../../db/account-lifecycle.js';
import { AccountConflictError, listWorkspaceAccounts, type AccountRow } from '../../db/accounts.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { ACCOUNT_STATUSES } from '../../domain/account-status.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { sessionKey } from '../../domain/session-key.js';
import {
  logoutAccountSignal,
  requestPairingCodeUpdate,
  restartAccountSignal,
  signalAccount,
  type Addressed,
} from '../../workflows/messages.js';
import { accountFor } from '../account-access.js';
import { deleteAccount } from '../account-commands.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { withTemporalDeadline } from '../dependency-outage.js';
import { AccountUpdateUnavailable, executeAccountUpdate } from '../account-update.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { createAccount, createRefusal } from '../create-account.js';
import { HttpProblem, problem } from '../problem.js';
import {
  AccountParams,
  Nullable,
  OpenObject,
  phoneNumberSchema,
  problemResponses,
  QueryWithDefaults,
  sessionIdSchema,
  StringEnum,
  webhookUrlSchema,
  WorkspaceParams,
} from '../schemas.js';
import { startWebhookDeliveries } from '../webhook-starter.js';

const CreateAccountBody = Type.Object(
  {
    sessionId: Type.Optional(
      Type.String({
        ...sessionIdSchema,
        description: 'your idempotency key: the same sessionId twice gives the same account',
      }),
    ),
    mode: Type.Optional(StringEnum(['qr', 'pairing_code'], { default: 'qr' })),
    phoneNumber: Type.Optional(phoneNumberSchema),
    webhookUrl: Type.Optional(webhookUrlSchema),
    metadata: Type.Optional(OpenObject({ maxProperties: 50 })),
  },
  { additionalProperties: false },
);

const AccountListQuery = QueryWithDefaults(
  Type.Object(
    {
      status: Type.Optional(StringEnum(ACCOUNT_STATUSES)),
      limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
      cursor: Type.Optional(
        Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'nextCursor of the previous page' }),
      ),
      includeDeleted: Type.Boolean({ default: false }),
    },
    { additionalProperties: false },
  ),
);

const AccountPage = Type.Object(
  { items: Type.Array(AccountViewRef), nextCursor: Nullable(Type.Integer()) },
  { additionalProperties: false },
);

const QrQuery = QueryWithDefaults(
  Type.Object({ format: StringEnum(['raw', 'png', 'data_url'], { default: 'raw' }) }, { additionalProperties: false }),
);

const QrView = Type.Object(
  { qr: Type.String(), dataUrl: Type.Optional(Type.String()), generatedAt: Type.String({ format: 'date-time' }) },
  { additionalProperties: false },
);

const PairingCodeBody = Type.Object({ phoneNumber: phoneNumberSchema }, { additionalProperties: false });
const PairingCodeView = Type.Object({ code: Type.String() }, { additionalProperties: false });

const CommandAccepted = Type.Object(
  { accepted: Type.Boolean(), sessionId: Type.String() },
  { additionalProperties: false },
);

/** The account resource: one workflow and one row per account; the API reads rows and sends workflow messages. */
export default async function accountsPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal, taskQueue } = options;
  const handle = (row: AccountRow) => temporal.workflow.getHandle(accountWorkflowId(row.workspace_id, row.session_id));

  app.post(
    '/accounts',
    {
      schema: {
        summary: 'Create an account (QR or pairing-code login); the same sessionId twice gives the same account',
        tags: ['accounts'],
        params: WorkspaceParams,
        body: CreateAccountBody,
        response: { 200: AccountViewRef, 201: AccountViewRef, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const body = request.body ?? {};
      if (body.mode === 'pairing_code' && !body.phoneNumber) {
        throw new HttpProblem(
          problem(422, 'phone_number_required', 'Unprocessable Content', 'mode pairing_code needs phoneNumber', {
            errors: [{ in: 'body', field: '/phoneNumber', message: 'is required with mode pairing_code' }],
          }),
        );
      }
      assertWebhookUrl(body.webhookUrl, options.webhookPolicy);
      const sessionId = body.sessionId ?? `acc_${randomUUID().replaceAll('-', '')}`;
      try {
        await ensureWorkspace(pool, workspaceId);
        const { row, created } = await createAccount(pool, temporal, {
          workspaceId,
          sessionId,
          sessionIdGenerated: body.sessionId === undefined,
          taskQueue,
          pairingPhoneNumber: body.mode === 'pairing_code' ? (body.phoneNumber ?? null) : null,
          metadata: body.metadata ?? {},
          webhookUrl: body.webhookUrl ?? null,
          defaultLiveAccountLimit: options.liveAccountLimit,
          takeCreation: () => options.accountCreationGate(request),
        });
        return reply.code(created ? 201 : 200).send(toAccountView(row));
      } catch (error) {
        throw createRefusal(error);
      }
    },
  );

  app.get(
    '/accounts',
    {
      schema: {
        summary: "List a workspace's accounts, oldest first",
        tags: ['accounts'],
        params: WorkspaceParams,
        querystring: AccountListQuery,
        response: { 200: AccountPage, ...problemResponses },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const page = await listWorkspaceAccounts(pool, {
        workspaceId,
        ...(request.query.status ? { status: request.query.status } : {}),
        includeDeleted: request.query.includeDeleted,
        limit: request.query.limit,
        afterId: request.query.cursor ?? 0,
      });
      return { items: page.items.map(toAccountView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/accounts/:sessionId',
    {
      schema: {
        summary: 'Get an account',
        tags: ['accounts'],
        params: AccountParams,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => toAccountView(await accountFor(pool, request.params)),
  );

  app.get(
    '/accounts/:sessionId/qr',
    {
      schema: {
        summary:
          'The current QR: its raw string, a PNG, or a data URL for an <img>; 404 qr_not_available while there is none',
        tags: ['accounts'],
        params: AccountParams,
        querystring: QrQuery,
        response: { 200: QrView, ...problemResponses },
      },
    },
    async (request, reply) => {
      const view = toAccountView(await accountFor(pool, request.params));
      if (!view.qr) {
        throw new HttpProblem(
          problem(
            404,
            'qr_not_available',
            'Not Found',
            `no QR to show: the account is ${view.status}${view.status === 'qr_scanning' ? ' and WhatsApp has not offered one yet' : ''}`,
          ),
        );
      }
      // A QR rotates every ~20 s: nobody should cache it.
      void reply.header('cache-control', 'no-store');
      if (request.query.format === 'png') {
        return reply
          .type('image/png')
          .send(await QRCode.toBuffer(view.qr.value, { errorCorrectionLevel: 'M', margin: 2, width: 320 }));
      }
      if (request.query.format === 'data_url') {
        return {
          qr: view.qr.value,
          dataUrl: await QRCode.toDataURL(view.qr.value, { errorCorrectionLevel: 'M', margin: 2, width: 320 }),
          generatedAt: view.qr.generatedAt,
        };
      }
      return { qr: view.qr.value, generatedAt: view.qr.generatedAt };
    },
  );

  app.post(
    '/accounts/:sessionId/pairing-code',
    {
      schema: {
        summary: 'Switch a not-yet-linked account to pairing-code login: returns the code to type on the phone',
        tags: ['accounts'],
        params: AccountParams,
        body: PairingCodeBody,
        response: { 200: PairingCodeView, ...problemResponses, 503: { $ref: 'ProblemDetails#' } },
      },
    },
    async (request, reply) => {
      const row = await accountFor(pool, request.params);
      try {
        const account = handle(row);
        return await executeAccountUpdate(account, requestPairingCodeUpdate, [
          { workflowId: account.workflowId, phoneNumber: request.body.phoneNumber },
        ]);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          throw new HttpProblem(problem(409, 'account_ended', 'Conflict', 'the account has ended'));
        if (error instanceof WorkflowUpdateFailedError) {
          throw new HttpProblem(
            problem(
              409,
              'pairing_code_refused',
              'Conflict',
              error.cause?.message ?? 'the account cannot switch to a pairing code now',
            ),
          );
        }
        if (error instanceof AccountUpdateUnavailable || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
          void reply.header('retry-after', '1');
          throw new HttpProblem(
            problem(
              503,
              'account_busy',
              'Service Unavailable',
              'the account did not take the request in time; try again',
            ),
          );
        }
        throw error;
      }
    },
  );

  app.post(
    '/accounts/:sessionId/primary',
    {
      schema: {
        summary: "Make a connected account the workspace's primary",
        tags: ['accounts'],
        params: AccountParams,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      try {
        const change = await makePrimary(pool, sessionKey(row.workspace_id, row.session_id));
        await startWebhookDeliveries(pool, temporal, taskQueue, change.eventIds);
        return toAccountView(change.row);
      } catch (error) {
        if (error instanceof AccountConflictError)
          throw new HttpProblem(problem(409, 'not_connected', 'Conflict', error.message));
        throw error;
      }
    },
  );

  app.delete(
    '/accounts/:sessionId',
    {
      schema: {
        summary: 'Delete an account: log out, stop its client, remove its login, soft-delete the row',
        tags: ['accounts'],
        params: AccountParams,
        response: { 202: CommandAccepted, ...problemResponses },
      },
    },
    async (request, reply) => {
      const row = await accountFor(pool, request.params);
      await deleteAccount(options, row);
      return reply.code(202).send({ accepted: true, sessionId: row.session_id });
    },
  );

  const command = (action: 'logout' | 'restart', summary: string, signal: SignalDefinition<[Addressed]>) => {
    app.post(
      `/accounts/:sessionId/${action}`,
      {
        schema: {
          summary,
          tags: ['accounts'],
          params: AccountParams,
          response: { 202: CommandAccepted, ...problemResponses },
        },
      },
      async (request, reply) => {
        const row = await accountFor(pool, request.params);
        try {
          await withTemporalDeadline(temporal, () => signalAccount(handle(row), signal));
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          throw new HttpProblem(
            problem(
              409,
              'account_ended',
              'Conflict',
              `the account has ended; it cannot ${action === 'logout' ? 'log out' : 'restart'}`,
            ),
          );
        }
        return reply.code(202).send({ accepted: true, sessionId: row.session_id });
      },
    );
  };
  command('logout', 'Log an account out (the phone sees the device unlinked)', logoutAccountSignal);
  command('restart', "Restart an account's client with its saved login (no new scan)", restartAccountSignal);
}

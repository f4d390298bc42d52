import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import QRCode from 'qrcode';
import { makePrimary } from '../../db/account-lifecycle.js';
import { AccountConflictError, listWorkspaceAccounts, type AccountRow } from '../../db/accounts.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { ACCOUNT_STATUSES, type AccountStatus } from '../../domain/account-status.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { sessionKey } from '../../domain/session-key.js';
import {
  logoutAccountSignal,
  requestPairingCodeUpdate,
  restartAccountSignal,
  signalAccount,
  type Addressed,
} from '../../workflows/messages.js';
import { accountFor, type AccountParams } from '../account-access.js';
import { deleteAccount, type AccountCommandDeps } from '../account-commands.js';
import { withTemporalDeadline } from '../dependency-outage.js';
import { AccountUpdateUnavailable, executeAccountUpdate } from '../account-update.js';
import { toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { createAccount, createRefusal } from '../create-account.js';
import { HttpProblem, problem } from '../problem.js';
import { phoneNumberSchema, sessionIdSchema, webhookUrlSchema, workspaceIdSchema } from '../schemas.js';
import { startWebhookDeliveries } from '../webhook-starter.js';

interface CreateBody {
  sessionId?: string;
  mode?: 'qr' | 'pairing_code';
  phoneNumber?: string;
  webhookUrl?: string;
  metadata?: Record<string, unknown>;
}

const workspaceParams = {
  type: 'object',
  required: ['workspaceId'],
  properties: { workspaceId: workspaceIdSchema },
  additionalProperties: false,
} as const;
export const accountParams = {
  type: 'object',
  required: ['workspaceId', 'sessionId'],
  properties: { workspaceId: workspaceIdSchema, sessionId: sessionIdSchema },
  additionalProperties: false,
} as const;
const commandResponse = {
  type: 'object',
  required: ['accepted', 'sessionId'],
  properties: { accepted: { type: 'boolean' }, sessionId: { type: 'string' } },
  additionalProperties: false,
} as const;
const problems = { '4xx': { $ref: 'ProblemDetails#' } } as const;

/** The account resource: one workflow and one row per account; the API reads rows and sends workflow messages. */
export default async function accountsPlugin(app: FastifyInstance, options: AccountCommandDeps) {
  const { pool, temporal, taskQueue } = options;
  const handle = (row: AccountRow) => temporal.workflow.getHandle(accountWorkflowId(row.workspace_id, row.session_id));

  app.post<{ Params: { workspaceId: string }; Body: CreateBody }>(
    '/accounts',
    {
      schema: {
        summary: 'Create an account (QR or pairing-code login); the same sessionId twice gives the same account',
        tags: ['accounts'],
        params: workspaceParams,
        body: {
          type: 'object',
          properties: {
            sessionId: {
              ...sessionIdSchema,
              description: 'your idempotency key: the same sessionId twice gives the same account',
            },
            mode: { type: 'string', enum: ['qr', 'pairing_code'], default: 'qr' },
            phoneNumber: phoneNumberSchema,
            webhookUrl: webhookUrlSchema,
            metadata: { type: 'object', maxProperties: 50, additionalProperties: true },
          },
          additionalProperties: false,
        },
        response: { 200: { $ref: 'Account#' }, 201: { $ref: 'Account#' }, ...problems },
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

  app.get<{
    Params: { workspaceId: string };
    Querystring: { status?: AccountStatus; limit: number; cursor?: number; includeDeleted: boolean };
  }>(
    '/accounts',
    {
      schema: {
        summary: "List a workspace's accounts, oldest first",
        tags: ['accounts'],
        params: workspaceParams,
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: [...ACCOUNT_STATUSES] },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            cursor: {
              type: 'integer',
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'nextCursor of the previous page',
            },
            includeDeleted: { type: 'boolean', default: false },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'nextCursor'],
            properties: {
              items: { type: 'array', items: { $ref: 'Account#' } },
              nextCursor: { type: ['integer', 'null'] },
            },
            additionalProperties: false,
          },
          ...problems,
        },
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

  app.get<{ Params: AccountParams }>(
    '/accounts/:sessionId',
    {
      schema: {
        summary: 'Get an account',
        tags: ['accounts'],
        params: accountParams,
        response: { 200: { $ref: 'Account#' }, ...problems },
      },
    },
    async (request) => toAccountView(await accountFor(pool, request.params)),
  );

  app.get<{ Params: AccountParams; Querystring: { format: 'raw' | 'png' | 'data_url' } }>(
    '/accounts/:sessionId/qr',
    {
      schema: {
        summary:
          'The current QR: its raw string, a PNG, or a data URL for an <img>; 404 qr_not_available while there is none',
        tags: ['accounts'],
        params: accountParams,
        querystring: {
          type: 'object',
          properties: { format: { type: 'string', enum: ['raw', 'png', 'data_url'], default: 'raw' } },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            required: ['qr', 'generatedAt'],
            properties: {
              qr: { type: 'string' },
              dataUrl: { type: 'string' },
              generatedAt: { type: 'string', format: 'date-time' },
            },
            additionalProperties: false,
          },
          ...problems,
        },
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

  app.post<{ Params: AccountParams; Body: { phoneNumber: string } }>(
    '/accounts/:sessionId/pairing-code',
    {
      schema: {
        summary: 'Switch a not-yet-linked account to pairing-code login: returns the code to type on the phone',
        tags: ['accounts'],
        params: accountParams,
        body: {
          type: 'object',
          required: ['phoneNumber'],
          properties: { phoneNumber: phoneNumberSchema },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            required: ['code'],
            properties: { code: { type: 'string' } },
            additionalProperties: false,
          },
          ...problems,
          503: { $ref: 'ProblemDetails#' },
        },
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

  app.post<{ Params: AccountParams }>(
    '/accounts/:sessionId/primary',
    {
      schema: {
        summary: "Make a connected account the workspace's primary",
        tags: ['accounts'],
        params: accountParams,
        response: { 200: { $ref: 'Account#' }, ...problems },
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

  app.delete<{ Params: AccountParams }>(
    '/accounts/:sessionId',
    {
      schema: {
        summary: 'Delete an account: log out, stop its client, remove its login, soft-delete the row',
        tags: ['accounts'],
        params: accountParams,
        response: { 202: commandResponse, ...problems },
      },
    },
    async (request, reply) => {
      const row = await accountFor(pool, request.params);
      await deleteAccount(options, row);
      return reply.code(202).send({ accepted: true, sessionId: row.session_id });
    },
  );

  const command = (action: 'logout' | 'restart', summary: string, signal: SignalDefinition<[Addressed]>) => {
    app.post<{ Params: AccountParams }>(
      `/accounts/:sessionId/${action}`,
      {
        schema: { summary, tags: ['accounts'], params: accountParams, response: { 202: commandResponse, ...problems } },
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

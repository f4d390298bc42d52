import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { endAccount } from '../../db/account-lifecycle.js';
import { AccountConflictError, findAccountBySession, type AccountRow } from '../../db/accounts.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { deleteAccountSignal, logoutAccountSignal, requestPairingCodeUpdate, restartAccountSignal } from '../../workflows/messages.js';
import { accountViewSchema, toAccountView } from '../account-view.js';
import { createAccount } from '../create-account.js';
import { HttpProblem, problem } from '../problem.js';
import { phoneNumberSchema, sessionIdSchema, workspaceIdSchema } from '../schemas.js';

export interface AccountsOptions {
  pool: DatabasePool;
  temporal: Client;
  taskQueue: string;
}

interface AccountParams {
  workspaceId: string;
  sessionId: string;
}

interface CreateBody {
  sessionId?: string;
  mode?: 'qr' | 'pairing_code';
  phoneNumber?: string;
  metadata?: Record<string, unknown>;
}

const accountParams = {
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

/** The account resource: one workflow and one row per account; the API only reads rows and sends workflow messages. */
export default async function accountsPlugin(app: FastifyInstance, options: AccountsOptions) {
  app.addSchema(accountViewSchema);
  const { pool, temporal, taskQueue } = options;

  const accountIn = async (params: AccountParams): Promise<AccountRow> => {
    const row = await findAccountBySession(pool, params.sessionId);
    // Another workspace's account answers exactly like a missing one, so existence does not leak.
    if (!row || row.workspace_id !== params.workspaceId) {
      throw new HttpProblem(problem(404, 'account_not_found', 'Not Found', `no account ${params.sessionId} in workspace ${params.workspaceId}`));
    }
    return row;
  };

  app.post<{ Params: { workspaceId: string }; Body: CreateBody }>('/v1/workspaces/:workspaceId/accounts', {
    schema: {
      summary: 'Create an account (QR or pairing-code login); the same sessionId twice gives the same account',
      tags: ['accounts'],
      params: { type: 'object', required: ['workspaceId'], properties: { workspaceId: workspaceIdSchema }, additionalProperties: false },
      body: {
        type: 'object',
        properties: {
          sessionId: sessionIdSchema,
          mode: { type: 'string', enum: ['qr', 'pairing_code'], default: 'qr' },
          phoneNumber: phoneNumberSchema,
          metadata: { type: 'object', maxProperties: 50, additionalProperties: true },
        },
        additionalProperties: false,
      },
      response: { 200: { $ref: 'Account#' }, 201: { $ref: 'Account#' }, '4xx': { $ref: 'ProblemDetails#' } },
    },
  }, async (request, reply) => {
    const body = request.body ?? {};
    if (body.mode === 'pairing_code' && !body.phoneNumber) {
      throw new HttpProblem(problem(422, 'phone_number_required', 'Unprocessable Content', 'mode pairing_code needs phoneNumber', { errors: [{ in: 'body', field: '/phoneNumber', message: 'is required with mode pairing_code' }] }));
    }
    const sessionId = body.sessionId ?? `acc_${randomUUID().replaceAll('-', '')}`;
    try {
      const { row, created } = await createAccount(pool, temporal, {
        workspaceId: request.params.workspaceId,
        sessionId,
        taskQueue,
        pairingPhoneNumber: body.mode === 'pairing_code' ? (body.phoneNumber ?? null) : null,
        metadata: body.metadata ?? {},
      });
      return reply.code(created ? 201 : 200).send(toAccountView(row));
    } catch (error) {
      if (error instanceof AccountConflictError) throw new HttpProblem(problem(409, 'session_id_taken', 'Conflict', 'this sessionId is already used by another workspace'));
      throw error;
    }
  });

  app.get<{ Params: AccountParams }>('/v1/workspaces/:workspaceId/accounts/:sessionId', {
    schema: {
      summary: 'Get an account',
      tags: ['accounts'],
      params: accountParams,
      response: { 200: { $ref: 'Account#' }, '4xx': { $ref: 'ProblemDetails#' } },
    },
  }, async (request) => toAccountView(await accountIn(request.params)));

  const command = (
    path: string,
    summary: string,
    send: (sessionId: string) => Promise<void>,
    whenWorkflowIsOver: (row: AccountRow) => Promise<void>,
  ) => {
    app.route<{ Params: AccountParams }>({
      method: path === '' ? 'DELETE' : 'POST',
      url: `/v1/workspaces/:workspaceId/accounts/:sessionId${path}`,
      schema: { summary, tags: ['accounts'], params: accountParams, response: { 202: commandResponse, '4xx': { $ref: 'ProblemDetails#' } } },
      handler: async (request, reply) => {
        const row = await accountIn(request.params);
        try {
          await send(row.session_id);
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          await whenWorkflowIsOver(row);
        }
        return reply.code(202).send({ accepted: true, sessionId: row.session_id });
      },
    });
  };
  const handle = (sessionId: string) => temporal.workflow.getHandle(accountWorkflowId(sessionId));
  const ended = (what: string) => async () => {
    throw new HttpProblem(problem(409, 'account_ended', 'Conflict', `the account has ended; it cannot ${what}`));
  };

  app.post<{ Params: AccountParams; Body: { phoneNumber: string } }>('/v1/workspaces/:workspaceId/accounts/:sessionId/pairing-code', {
    schema: {
      summary: 'Switch a not-yet-linked account to pairing-code login: returns the code to type on the phone',
      tags: ['accounts'],
      params: accountParams,
      body: { type: 'object', required: ['phoneNumber'], properties: { phoneNumber: phoneNumberSchema }, additionalProperties: false },
      response: {
        200: { type: 'object', required: ['code'], properties: { code: { type: 'string' } }, additionalProperties: false },
        '4xx': { $ref: 'ProblemDetails#' },
      },
    },
  }, async (request) => {
    const row = await accountIn(request.params);
    try {
      return await handle(row.session_id).executeUpdate(requestPairingCodeUpdate, { args: [{ phoneNumber: request.body.phoneNumber }] });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new HttpProblem(problem(409, 'account_ended', 'Conflict', 'the account has ended'));
      if (error instanceof WorkflowUpdateFailedError) {
        throw new HttpProblem(problem(409, 'pairing_code_refused', 'Conflict', error.cause?.message ?? 'the account cannot switch to a pairing code now'));
      }
      throw error;
    }
  });

  command('', 'Delete an account: log out, stop its client, remove its auth, soft-delete the row',
    (sessionId) => handle(sessionId).signal(deleteAccountSignal, { reason: 'deleted' }),
    // Its workflow is over (failed, logged out): nobody else writes the row, so the API soft-deletes it itself.
    async (row) => {
      await endAccount(pool, { sessionId: row.session_id, status: 'failed', reason: 'deleted', eventType: 'session_deleted', softDelete: true, dedupeKey: `api-delete:${row.session_id}` });
    });
  command('/logout', 'Log an account out (the phone sees the device unlinked)',
    (sessionId) => handle(sessionId).signal(logoutAccountSignal, { reason: 'logged_out' }), ended('log out'));
  command('/restart', 'Restart an account\'s client with its saved auth (no new scan)',
    (sessionId) => handle(sessionId).signal(restartAccountSignal, { reason: 'restart_requested' }), ended('restart'));
}

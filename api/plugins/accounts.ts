import { proxyOwner, storedProxy } from '../../db/proxy-settings.js';
import { ProxyBody, proxyChangeOf } from '../proxy-setting.js';
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listWorkspaceAccounts } from '../../db/accounts.js';
import { ensureWorkspace } from '../../db/workspaces.js';
import { ACCOUNT_STATUSES } from '../../domain/account-status.js';
import { accountFor } from '../account-access.js';
import { deleteAccount } from '../account-commands.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { assertWebhookUrl } from '../webhook-url.js';
import { createAccount, createRefusal } from '../create-account.js';
import { HttpProblem, problem } from '../problem.js';
import {
  AccountParams,
  LinkedDeviceNames,
  CommandAccepted,
  Nullable,
  OpenObject,
  phoneNumberSchema,
  problemResponses,
  QueryWithDefaults,
  rowIdSchema,
  sessionIdSchema,
  StringEnum,
  webhookUrlSchema,
  WorkspaceParams,
} from '../schemas.js';

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
    deviceName: Type.Optional(LinkedDeviceNames.properties.deviceName),
    browserName: Type.Optional(LinkedDeviceNames.properties.browserName),
    proxy: Type.Optional(ProxyBody),
  },
  { additionalProperties: false },
);

const AccountListQuery = QueryWithDefaults(
  Type.Object(
    {
      status: Type.Optional(StringEnum(ACCOUNT_STATUSES)),
      limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
      cursor: Type.Optional(rowIdSchema(0, 'nextCursor of the previous page')),
      includeDeleted: Type.Boolean({ default: false }),
    },
    { additionalProperties: false },
  ),
);

const AccountPage = Type.Object(
  { items: Type.Array(AccountViewRef), nextCursor: Nullable(Type.Integer()) },
  { additionalProperties: false },
);

/** The account resource: create, list, read, delete. One workflow and one row per account; the API reads rows and sends workflow messages. */
export default async function accountsPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal, taskQueue } = options;

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
      const proxy = body.proxy ? proxyChangeOf(body.proxy, '/proxy', options.proxyPolicy) : null;
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
          deviceName: body.deviceName ?? null,
          browserName: body.browserName ?? null,
          proxy: storedProxy(options.keyring, proxyOwner(workspaceId, sessionId), proxy),
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
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { EXPECTED_STATUS_SECONDS, listStuckAccounts } from '../../db/stuck-accounts.js';
import { Type, type Static } from 'typebox';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { problemResponses, QueryWithDefaults, WorkspaceParams } from '../schemas.js';
import { assertAdmin } from './auth.js';

const StuckQuery = QueryWithDefaults(
  Type.Object(
    {
      olderThanSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 })),
      limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    },
    { additionalProperties: false },
  ),
);
type StuckQuery = Static<typeof StuckQuery>;

const StuckAccounts = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        { account: AccountViewRef, stuckForSeconds: Type.Integer(), expectedSeconds: Type.Integer() },
        { additionalProperties: false },
      ),
    ),
    expectedSeconds: Type.Object(
      {
        qr_scanning: Type.Integer(),
        authenticated: Type.Integer(),
        disconnected: Type.Integer(),
        connected: Type.Integer({ description: 'since its session last answered its host, not since it connected' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const response = { 200: StuckAccounts, ...problemResponses };

async function stuckAccounts(
  pool: DatabasePool,
  query: StuckQuery,
  workspaceId: string | null,
): Promise<Static<typeof StuckAccounts>> {
  const stuck = await listStuckAccounts(pool, {
    workspaceId,
    olderThanSeconds: query.olderThanSeconds ?? null,
    limit: query.limit,
  });
  return {
    items: stuck.map(({ row, stuckForSeconds, expectedSeconds }) => ({
      account: toAccountView(row),
      stuckForSeconds,
      expectedSeconds,
    })),
    expectedSeconds: EXPECTED_STATUS_SECONDS,
  };
}

/**
 * "Which accounts are stuck, and on what?" for operators: live accounts of every workspace that stay in a status
 * that is not an end longer than it should last, and connected ones nobody has seen alive for minutes, each with the
 * detail of what it waits for.
 */
export default async function stuckAccountsPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/admin/stuck-accounts',
    {
      schema: {
        summary: 'Accounts of every workspace that stay in a status longer than expected, with what they wait for',
        tags: ['admin'],
        querystring: StuckQuery,
        response,
      },
    },
    async (request) => {
      assertAdmin(request);
      return stuckAccounts(options.pool, request.query, null);
    },
  );
}

/** The same question for one workspace, under /v1/workspaces/:workspaceId (whose scope checks the key). */
export async function workspaceStuckAccountsPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/stuck-accounts',
    {
      schema: {
        summary: "The workspace's accounts that stay in a status longer than expected, with what they wait for",
        tags: ['accounts'],
        params: WorkspaceParams,
        querystring: StuckQuery,
        response,
      },
    },
    async (request) => stuckAccounts(options.pool, request.query, request.params.workspaceId),
  );
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DatabasePool } from 'slonik';
import { EXPECTED_STATUS_SECONDS, listStuckAccounts } from '../../db/stuck-accounts.js';
import { toAccountView } from '../account-view.js';
import { workspaceIdSchema } from '../schemas.js';
import { assertAdmin } from './auth.js';

interface StuckQuery {
  olderThanSeconds?: number;
  limit: number;
}

const query = {
  type: 'object',
  properties: {
    olderThanSeconds: { type: 'integer', minimum: 1, maximum: 30 * 24 * 3600 },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  },
  additionalProperties: false,
} as const;

const response = {
  200: {
    type: 'object',
    required: ['items', 'expectedSeconds'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['account', 'stuckForSeconds', 'expectedSeconds'],
          properties: {
            account: { $ref: 'Account#' },
            stuckForSeconds: { type: 'integer' },
            expectedSeconds: { type: 'integer' },
          },
          additionalProperties: false,
        },
      },
      expectedSeconds: {
        type: 'object',
        required: ['qr_scanning', 'authenticated', 'disconnected', 'connected'],
        properties: {
          qr_scanning: { type: 'integer' },
          authenticated: { type: 'integer' },
          disconnected: { type: 'integer' },
          connected: {
            type: 'integer',
            description: 'since its session last answered its host, not since it connected',
          },
        },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  },
  '4xx': { $ref: 'ProblemDetails#' },
} as const;

async function stuckAccounts(
  pool: DatabasePool,
  request: FastifyRequest<{ Querystring: StuckQuery }>,
  workspaceId: string | null,
) {
  const stuck = await listStuckAccounts(pool, {
    workspaceId,
    olderThanSeconds: request.query.olderThanSeconds ?? null,
    limit: request.query.limit,
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
export default async function stuckAccountsPlugin(app: FastifyInstance, options: { pool: DatabasePool }) {
  app.get<{ Querystring: StuckQuery }>(
    '/v1/admin/stuck-accounts',
    {
      schema: {
        summary: 'Accounts of every workspace that stay in a status longer than expected, with what they wait for',
        tags: ['admin'],
        querystring: query,
        response,
      },
    },
    async (request) => {
      assertAdmin(request);
      return stuckAccounts(options.pool, request, null);
    },
  );
}

/** The same question for one workspace, under /v1/workspaces/:workspaceId (whose scope checks the key). */
export async function workspaceStuckAccountsPlugin(app: FastifyInstance, options: { pool: DatabasePool }) {
  app.get<{ Params: { workspaceId: string }; Querystring: StuckQuery }>(
    '/stuck-accounts',
    {
      schema: {
        summary: "The workspace's accounts that stay in a status longer than expected, with what they wait for",
        tags: ['accounts'],
        params: {
          type: 'object',
          required: ['workspaceId'],
          properties: { workspaceId: workspaceIdSchema },
          additionalProperties: false,
        },
        querystring: query,
        response,
      },
    },
    async (request) => stuckAccounts(options.pool, request, request.params.workspaceId),
  );
}

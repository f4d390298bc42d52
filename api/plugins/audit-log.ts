import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type, type Static } from 'typebox';
import { listAuditEntries, type AuditRow } from '../../db/audit-log.js';
import {
  Nullable,
  OpenObject,
  problemResponses,
  QueryWithDefaults,
  rowIdSchema,
  StringEnum,
  workspaceIdSchema,
  WorkspaceParams,
} from '../schemas.js';
import { assertAdmin } from './auth.js';

const pageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  before: Type.Optional(rowIdSchema(1, 'nextBefore of the previous page')),
};
const WorkspaceAuditQuery = QueryWithDefaults(Type.Object(pageQuery, { additionalProperties: false }));
const AdminAuditQuery = QueryWithDefaults(
  Type.Object({ ...pageQuery, workspaceId: Type.Optional(workspaceIdSchema) }, { additionalProperties: false }),
);

const AuditEntryView = Type.Object(
  {
    id: Type.Integer(),
    occurredAt: Type.String({ format: 'date-time' }),
    workspaceId: Nullable(Type.String()),
    actor: Type.Object(
      {
        kind: StringEnum(['key', 'operator_session', 'legacy_keyless', 'metrics_token', 'anonymous', 'service']),
        keyPrefix: Nullable(Type.String()),
        name: Type.String(),
      },
      { additionalProperties: false },
    ),
    clientAddress: Type.String(),
    action: Type.String({ description: 'the method and the route, e.g. POST /v1/workspaces/:workspaceId/accounts' }),
    target: Nullable(Type.String({ description: 'the account, key or link the change was about' })),
    changes: OpenObject({ description: 'the request body, secrets and login codes removed, phone numbers masked' }),
    statusCode: Type.Integer(),
    outcome: StringEnum(['done', 'refused', 'failed']),
    requestId: Type.String(),
  },
  { additionalProperties: false },
);
const AuditPage = Type.Object(
  { items: Type.Array(AuditEntryView), nextBefore: Nullable(Type.Integer()) },
  { additionalProperties: false },
);
const response = { 200: AuditPage, ...problemResponses };

function toPage(rows: readonly AuditRow[], limit: number): Static<typeof AuditPage> {
  return {
    items: rows.map((row) => ({
      id: row.id,
      occurredAt: new Date(row.occurred_at).toISOString(),
      workspaceId: row.workspace_id,
      actor: { kind: row.actor_kind, keyPrefix: row.actor_key_prefix, name: row.actor_name },
      clientAddress: row.client_address,
      action: row.action,
      target: row.target,
      changes: row.changes,
      statusCode: row.status_code,
      outcome: row.outcome,
      requestId: row.request_id,
    })),
    nextBefore: rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
  };
}

/** Every change of every workspace and of the service itself (keys, limits, sign-ins), for operators. */
export default async function adminAuditPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/admin/audit',
    {
      schema: {
        summary: 'The audit log of every workspace and of the service, newest first (admin keys only)',
        tags: ['admin'],
        querystring: AdminAuditQuery,
        response,
      },
    },
    async (request) => {
      assertAdmin(request);
      const { limit, before, workspaceId } = request.query;
      const rows = await listAuditEntries(options.pool, {
        limit,
        ...(before === undefined ? {} : { beforeId: before }),
        ...(workspaceId === undefined ? {} : { workspaceId }),
      });
      return toPage(rows, limit);
    },
  );
}

/** The workspace's own audit log, under /v1/workspaces/:workspaceId (whose scope checks the key). */
export async function workspaceAuditPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/audit',
    {
      schema: {
        summary: "Who changed what in the workspace: the workspace's audit log, newest first",
        tags: ['accounts'],
        params: WorkspaceParams,
        querystring: WorkspaceAuditQuery,
        response,
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      const rows = await listAuditEntries(options.pool, {
        workspaceId: request.params.workspaceId,
        limit,
        ...(before === undefined ? {} : { beforeId: before }),
      });
      return toPage(rows, limit);
    },
  );
}

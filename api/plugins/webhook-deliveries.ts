import { randomBytes } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { WEBHOOK_EVENT_TYPES } from '../../domain/account-event-types.js';
import { findAccountBySession } from '../../db/accounts.js';
import {
  countFailedEvents,
  countReplayEvents,
  findDelivery,
  listDeliveries,
  resendProgress,
  type DeliveryFilter,
  type DeliveryRow,
} from '../../db/webhook-deliveries.js';
import { findWebhookEndpoint, type WebhookEndpointRow } from '../../db/webhook-endpoints.js';
import { markResendsEnded, takeResendPlace, unendedResends } from '../../db/webhook-resends.js';
import { webhookDelivery } from '../../workflows/webhook-delivery.js';
import { webhookResend, type WebhookResendInput } from '../../workflows/webhook-resend.js';
import { workspaceIdKey } from '../../workflows/search-attributes.js';
import { accountFor, accountNotFound } from '../account-access.js';
import { withTemporalDeadline } from '../dependency-outage.js';
import { HttpProblem, problem } from '../problem.js';
import {
  AccountParams,
  Nullable,
  problemResponses,
  QueryWithDefaults,
  rowIdSchema,
  sessionIdSchema,
  StringEnum,
  workspaceIdSchema,
  WorkspaceParams,
} from '../schemas.js';
import { endpointIdSchema } from '../webhook-endpoint-view.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { EndpointParams, endpointNotFound } from './webhook-endpoints.js';

const deliveryIdSchema = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,200}$' });
const resendIdSchema = Type.String({ pattern: '^(resend|replay)\\.[A-Za-z0-9_-]{1,64}\\.[0-9a-f]{16}$' });
const dateTime = Type.String({ format: 'date-time' });
const perSecondSchema = Type.Integer({
  minimum: 1,
  maximum: 100,
  default: 10,
  description: 'At most this many events a second',
});

const DeliveryAttemptView = Type.Object(
  {
    deliveryId: Type.String({ description: 'One event sent to one endpoint, in one or more attempts' }),
    kind: StringEnum(['delivery', 'redelivery', 'replay'], {
      description: 'delivery: sent as the event happened; redelivery: a resend; replay: a replay since an event id',
    }),
    eventId: Type.Integer(),
    eventType: Type.String(),
    endpointId: Nullable(Type.String()),
    sessionId: Type.String(),
    url: Type.String(),
    attempt: Type.Integer({ description: '0: not sent, the endpoint being disabled after failing' }),
    delivered: Type.Boolean(),
    statusCode: Nullable(Type.Integer()),
    latencyMs: Nullable(Type.Integer()),
    error: Nullable(Type.String()),
    attemptedAt: dateTime,
  },
  { additionalProperties: false },
);
const DeliveryList = Type.Object({ items: Type.Array(DeliveryAttemptView) }, { additionalProperties: false });

const filterProperties = {
  endpointId: Type.Optional(endpointIdSchema),
  eventType: Type.Optional(StringEnum(WEBHOOK_EVENT_TYPES)),
  outcome: Type.Optional(StringEnum(['delivered', 'failed'])),
  kind: Type.Optional(StringEnum(['delivery', 'redelivery', 'replay'])),
  since: Type.Optional(dateTime),
  until: Type.Optional(dateTime),
  beforeId: Type.Optional(rowIdSchema(1)),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
};
const WorkspaceDeliveriesQuery = QueryWithDefaults(
  Type.Object({ ...filterProperties, sessionId: Type.Optional(sessionIdSchema) }, { additionalProperties: false }),
);
const AccountDeliveriesQuery = QueryWithDefaults(Type.Object(filterProperties, { additionalProperties: false }));

const ResendBody = Type.Object(
  { failedSince: dateTime, perSecond: Type.Optional(perSecondSchema) },
  { additionalProperties: false },
);
const ReplayBody = Type.Object(
  {
    afterEventId: rowIdSchema(0, 'Every event after this one (0: from the first)'),
    sessionId: Type.Optional(sessionIdSchema),
    perSecond: Type.Optional(perSecondSchema),
  },
  { additionalProperties: false },
);
const ResendStarted = Type.Object(
  {
    resendId: Type.String(),
    endpointId: Type.String(),
    events: Type.Integer({ description: 'Events it will send, in order, as counted when it started' }),
  },
  { additionalProperties: false },
);
const ResendStatus = Type.Object(
  {
    resendId: Type.String(),
    state: StringEnum(['running', 'completed', 'stopped']),
    delivered: Type.Integer({ description: 'Events delivered so far' }),
    lastEventId: Nullable(Type.Integer()),
  },
  { additionalProperties: false },
);
const Redelivered = Type.Object(
  { deliveryId: Type.String(), eventId: Type.Integer(), endpointId: Type.String() },
  { additionalProperties: false },
);

const toAttemptView = (row: DeliveryRow) => ({
  deliveryId: row.delivery_id,
  kind: row.kind,
  eventId: row.event_id,
  eventType: row.event_type,
  endpointId: row.endpoint_id,
  sessionId: row.session_id,
  url: row.url,
  attempt: row.attempt,
  delivered: row.delivered,
  statusCode: row.status_code,
  latencyMs: row.latency_ms,
  error: row.error,
  attemptedAt: new Date(row.attempted_at).toISOString(),
});

type FilterQuery = {
  endpointId?: string;
  eventType?: string;
  outcome?: 'delivered' | 'failed';
  kind?: 'delivery' | 'redelivery' | 'replay';
  since?: string;
  until?: string;
  beforeId?: number;
  limit: number;
};
const filterOf = (workspaceId: string, query: FilterQuery): DeliveryFilter => ({
  workspaceId,
  endpointId: query.endpointId,
  eventType: query.eventType,
  outcome: query.outcome,
  kind: query.kind,
  since: query.since === undefined ? undefined : new Date(query.since),
  until: query.until === undefined ? undefined : new Date(query.until),
  beforeId: query.beforeId,
  limit: query.limit,
});

const endpointDisabled = (endpointId: string) =>
  new HttpProblem(
    problem(
      409,
      'webhook_endpoint_disabled',
      'Conflict',
      `webhook endpoint ${endpointId} is disabled: enable it first`,
    ),
  );

/**
 * Resends and replays a workspace runs at once. Each holds one of the shared queue's job slots while it runs (hours,
 * at a slow pace), so one workspace's replays cannot take the slots every workspace's deliveries need.
 */
export const WEBHOOK_RESENDS_AT_ONCE = 3;

function resendsBusy(): HttpProblem {
  return new HttpProblem(
    problem(
      409,
      'webhook_resends_busy',
      'Conflict',
      `this workspace already runs ${WEBHOOK_RESENDS_AT_ONCE} resends or replays; start another once one has ended`,
      { limit: WEBHOOK_RESENDS_AT_ONCE },
    ),
  );
}

/**
 * The delivery log (each attempt, filterable, for the workspace or an account) and what a receiver that missed events
 * needs: one delivery resent, an endpoint's failed deliveries resent since a time, or every event replayed since an
 * id, in order and at a bounded pace. Every resend carries the event's own `webhook-id`, so a receiver that already
 * had it drops it; the log marks it a redelivery or a replay.
 */
export default async function webhookDeliveriesPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal } = options;

  const usableEndpoint = async (params: { workspaceId: string; endpointId: string }) => {
    const endpoint = await findWebhookEndpoint(pool, params.workspaceId, params.endpointId);
    if (!endpoint) throw endpointNotFound(params);
    if (!endpoint.enabled) throw endpointDisabled(endpoint.id);
    return endpoint;
  };

  /** Marks ended the workspace's resends whose workflows no longer run; the places they held are free again. */
  const endFinishedResends = async (workspaceId: string) => {
    const ended: string[] = [];
    for (const resendId of await unendedResends(pool, workspaceId)) {
      try {
        const { status } = await withTemporalDeadline(temporal, () => temporal.workflow.getHandle(resendId).describe());
        if (status.name !== 'RUNNING') ended.push(resendId);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        ended.push(resendId);
      }
    }
    await markResendsEnded(pool, ended);
  };

  const startResend = async (endpoint: WebhookEndpointRow, input: Omit<WebhookResendInput, 'endpointId'>) => {
    const resendId = `${input.mode === 'replay' ? 'replay' : 'resend'}.${endpoint.workspace_id}.${randomBytes(8).toString('hex')}`;
    const place = { resendId, workspaceId: endpoint.workspace_id, endpointId: endpoint.id };
    if (!(await takeResendPlace(pool, place, WEBHOOK_RESENDS_AT_ONCE))) {
      await endFinishedResends(endpoint.workspace_id);
      if (!(await takeResendPlace(pool, place, WEBHOOK_RESENDS_AT_ONCE))) throw resendsBusy();
    }
    // A start that failed keeps its place until a start finds the workspace full and the workflow missing: a start
    // that timed out may have begun all the same, and must not run without a place.
    await withTemporalDeadline(temporal, () =>
      temporal.workflow.start(webhookResend, {
        taskQueue: options.taskQueue,
        workflowId: resendId,
        args: [{ ...input, endpointId: endpoint.id }],
        typedSearchAttributes: [{ key: workspaceIdKey, value: endpoint.workspace_id }],
      }),
    );
    return resendId;
  };

  app.get(
    '/webhook-deliveries',
    {
      schema: {
        summary:
          "Every webhook delivery attempt of the workspace, newest first, filtered by endpoint, account, event type, outcome, kind and time; page back with beforeId (the last item's id)",
        tags: ['webhooks'],
        params: WorkspaceParams,
        querystring: WorkspaceDeliveriesQuery,
        response: { 200: DeliveryList, ...problemResponses },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const filter = filterOf(workspaceId, request.query);
      if (request.query.sessionId !== undefined) {
        const account = await findAccountBySession(pool, workspaceId, request.query.sessionId);
        if (!account) throw accountNotFound({ workspaceId, sessionId: request.query.sessionId });
        filter.sessionId = account.session_id;
      }
      return { items: (await listDeliveries(pool, filter)).map(toAttemptView) };
    },
  );

  app.get(
    '/accounts/:sessionId/webhook-deliveries',
    {
      schema: {
        summary: "The account's webhook delivery attempts, newest first, filtered as the workspace's",
        tags: ['webhooks'],
        params: AccountParams,
        querystring: AccountDeliveriesQuery,
        response: { 200: DeliveryList, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      const filter = { ...filterOf(row.workspace_id, request.query), sessionId: row.session_id };
      return { items: (await listDeliveries(pool, filter)).map(toAttemptView) };
    },
  );

  app.post(
    '/webhook-deliveries/:deliveryId/redeliver',
    {
      schema: {
        summary: 'Send one delivery again: the same event (same webhook-id) to the same endpoint, as a redelivery',
        tags: ['webhooks'],
        params: Type.Object(
          { workspaceId: workspaceIdSchema, deliveryId: deliveryIdSchema },
          { additionalProperties: false },
        ),
        response: { 202: Redelivered, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, deliveryId } = request.params;
      const delivery = await findDelivery(pool, workspaceId, deliveryId);
      if (!delivery) {
        throw new HttpProblem(
          problem(
            404,
            'webhook_delivery_not_found',
            'Not Found',
            `no delivery ${deliveryId} in workspace ${workspaceId}`,
          ),
        );
      }
      const endpoint = await usableEndpoint({ workspaceId, endpointId: delivery.endpointId });
      const redeliveryId = `webhook-${delivery.eventId}-${endpoint.id}-redelivery-${randomBytes(8).toString('hex')}`;
      await withTemporalDeadline(temporal, () =>
        temporal.workflow.start(webhookDelivery, {
          taskQueue: options.taskQueue,
          workflowId: redeliveryId,
          args: [{ eventId: delivery.eventId, endpointId: endpoint.id, kind: 'redelivery' }],
          typedSearchAttributes: [{ key: workspaceIdKey, value: workspaceId }],
        }),
      );
      return reply.code(202).send({ deliveryId: redeliveryId, eventId: delivery.eventId, endpointId: endpoint.id });
    },
  );

  app.post(
    '/webhook-endpoints/:endpointId/resend',
    {
      schema: {
        summary:
          'Resend every event whose deliveries to this endpoint since failedSince all failed (and those it missed while disabled), oldest first, at a bounded pace',
        tags: ['webhooks'],
        params: EndpointParams,
        body: ResendBody,
        response: { 202: ResendStarted, ...problemResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await usableEndpoint(request.params);
      const since = new Date(request.body.failedSince);
      const events = await countFailedEvents(pool, { endpointId: endpoint.id, since });
      const resendId = await startResend(endpoint, {
        workspaceId: endpoint.workspace_id,
        mode: 'failed',
        failedSince: since.toISOString(),
        afterEventId: 0,
        accountId: null,
        perSecond: request.body.perSecond ?? 10,
      });
      return reply.code(202).send({ resendId, endpointId: endpoint.id, events });
    },
  );

  app.post(
    '/webhook-endpoints/:endpointId/replay',
    {
      schema: {
        summary:
          'Replay to this endpoint every event of the workspace (or of one account) after an event id that it wants, in order, at a bounded pace',
        tags: ['webhooks'],
        params: EndpointParams,
        body: ReplayBody,
        response: { 202: ResendStarted, ...problemResponses },
      },
    },
    async (request, reply) => {
      const endpoint = await usableEndpoint(request.params);
      let accountId: number | null = null;
      if (request.body.sessionId !== undefined) {
        const account = await findAccountBySession(pool, endpoint.workspace_id, request.body.sessionId);
        if (!account) throw accountNotFound({ workspaceId: endpoint.workspace_id, sessionId: request.body.sessionId });
        accountId = account.id;
      }
      const { afterEventId } = request.body;
      const events = await countReplayEvents(pool, { endpointId: endpoint.id, accountId, afterEventId });
      const resendId = await startResend(endpoint, {
        workspaceId: endpoint.workspace_id,
        mode: 'replay',
        failedSince: null,
        afterEventId,
        accountId,
        perSecond: request.body.perSecond ?? 10,
      });
      return reply.code(202).send({ resendId, endpointId: endpoint.id, events });
    },
  );

  app.get(
    '/webhook-resends/:resendId',
    {
      schema: {
        summary: 'How a resend or a replay is going: running, completed or stopped, and what it delivered',
        tags: ['webhooks'],
        params: Type.Object(
          { workspaceId: workspaceIdSchema, resendId: resendIdSchema },
          { additionalProperties: false },
        ),
        response: { 200: ResendStatus, ...problemResponses },
      },
    },
    async (request) => {
      const { workspaceId, resendId } = request.params;
      const notFound = new HttpProblem(
        problem(404, 'webhook_resend_not_found', 'Not Found', `no resend ${resendId} in workspace ${workspaceId}`),
      );
      // The id names its workspace: another workspace's resend is as missing as one that never was.
      if (resendId.split('.')[1] !== workspaceId) throw notFound;
      let status: string;
      try {
        status = (await withTemporalDeadline(temporal, () => temporal.workflow.getHandle(resendId).describe())).status
          .name;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw notFound;
        throw error;
      }
      const progress = await resendProgress(pool, workspaceId, resendId);
      const state = status === 'RUNNING' ? 'running' : status === 'COMPLETED' ? 'completed' : 'stopped';
      return { resendId, state, ...progress };
    },
  );
}

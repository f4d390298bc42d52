import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import QRCode from 'qrcode';
import type { DatabasePool } from 'slonik';
import { listRecentAccountEvents, type AccountEvent } from '../../db/accounts.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { accountFor, type AccountParams } from '../account-access.js';
import { toAccountView } from '../account-view.js';
import { HttpProblem, problem } from '../problem.js';
import { accountParams } from './accounts.js';

const problems = { '4xx': { $ref: 'ProblemDetails#' } } as const;

/** What an operator or a backend asks about one account: its QR, its diagnostics, its webhook deliveries. */
export default async function accountInsightsPlugin(app: FastifyInstance, options: { pool: DatabasePool; temporal: Client }) {
  const { pool, temporal } = options;

  app.get<{ Params: AccountParams; Querystring: { format: 'raw' | 'png' | 'data_url' } }>('/v1/workspaces/:workspaceId/accounts/:sessionId/qr', {
    schema: {
      summary: 'The current QR: its raw string, a PNG, or a data URL for an <img>; 404 qr_not_available while there is none',
      tags: ['accounts'],
      params: accountParams,
      querystring: { type: 'object', properties: { format: { type: 'string', enum: ['raw', 'png', 'data_url'], default: 'raw' } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          required: ['qr', 'generatedAt'],
          properties: { qr: { type: 'string' }, dataUrl: { type: 'string' }, generatedAt: { type: 'string', format: 'date-time' } },
          additionalProperties: false,
        },
        ...problems,
      },
    },
  }, async (request, reply) => {
    const view = toAccountView(await accountFor(request, pool, request.params));
    if (!view.qr) {
      throw new HttpProblem(problem(404, 'qr_not_available', 'Not Found', `no QR to show: the account is ${view.status}${view.status === 'qr_scanning' ? ' and WhatsApp has not offered one yet' : ''}`));
    }
    // A QR rotates every ~20 s: nobody should cache it.
    void reply.header('cache-control', 'no-store');
    if (request.query.format === 'png') {
      return reply.type('image/png').send(await QRCode.toBuffer(view.qr.value, { errorCorrectionLevel: 'M', margin: 2, width: 320 }));
    }
    if (request.query.format === 'data_url') {
      return { qr: view.qr.value, dataUrl: await QRCode.toDataURL(view.qr.value, { errorCorrectionLevel: 'M', margin: 2, width: 320 }), generatedAt: view.qr.generatedAt };
    }
    return { qr: view.qr.value, generatedAt: view.qr.generatedAt };
  });

  app.get<{ Params: AccountParams }>('/v1/workspaces/:workspaceId/accounts/:sessionId/diagnostics', {
    schema: {
      summary: 'Everything about one account in one answer: the row, recent events, its workflow, pending activities, the last failure and measured timings',
      tags: ['accounts'],
      params: accountParams,
      response: { 200: { type: 'object', additionalProperties: true }, ...problems },
    },
  }, async (request) => {
    const row = await accountFor(request, pool, request.params);
    const events = await listRecentAccountEvents(pool, row.session_id, 50);
    const deliveries = await listDeliveries(pool, row.session_id, 50);
    let workflow: Record<string, unknown>;
    try {
      const description = await temporal.workflow.getHandle(accountWorkflowId(row.session_id)).describe();
      const raw = description.raw;
      workflow = {
        workflowId: description.workflowId,
        runId: description.runId,
        status: description.status.name,
        startTime: description.startTime.toISOString(),
        historyLength: description.historyLength,
        pendingActivities: (raw.pendingActivities ?? []).map((activity) => ({
          activityType: activity.activityType?.name ?? null,
          state: activity.state,
          attempt: activity.attempt,
          lastFailure: activity.lastFailure?.message ?? null,
          lastHeartbeatTime: activity.lastHeartbeatTime?.seconds ? new Date(Number(activity.lastHeartbeatTime.seconds) * 1000).toISOString() : null,
        })),
      };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      workflow = { status: 'NOT_FOUND' };
    }
    return {
      account: toAccountView(row),
      workflow,
      lastFailure: row.failure_reason,
      timings: measuredTimings(events, deliveries.filter((d) => d.delivered).map((d) => d.latency_ms ?? 0)),
      events: events.map((event) => ({ id: event.id, type: event.type, status: event.status, data: redactQr(event), occurredAt: new Date(event.occurred_at).toISOString() })),
      webhookDeliveries: deliveries,
    };
  });

  app.get<{ Params: AccountParams; Querystring: { limit: number } }>('/v1/workspaces/:workspaceId/accounts/:sessionId/webhook-deliveries', {
    schema: {
      summary: 'Every webhook delivery attempt of the account, newest first: status code, latency, error',
      tags: ['webhooks'],
      params: accountParams,
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          required: ['items'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  eventId: { type: 'integer' }, url: { type: 'string' }, attempt: { type: 'integer' }, delivered: { type: 'boolean' },
                  statusCode: { type: ['integer', 'null'] }, latencyMs: { type: ['integer', 'null'] }, error: { type: ['string', 'null'] },
                  attemptedAt: { type: 'string', format: 'date-time' },
                },
                additionalProperties: false,
              },
            },
          },
          additionalProperties: false,
        },
        ...problems,
      },
    },
  }, async (request) => {
    const row = await accountFor(request, pool, request.params);
    const deliveries = await listDeliveries(pool, row.session_id, request.query.limit);
    return {
      items: deliveries.map((d) => ({
        eventId: d.event_id, url: d.url, attempt: d.attempt, delivered: d.delivered, statusCode: d.status_code,
        latencyMs: d.latency_ms, error: d.error, attemptedAt: new Date(d.attempted_at).toISOString(),
      })),
    };
  });
}

/** The seed's "expected timings", measured for this account from its own event log. */
function measuredTimings(events: readonly AccountEvent[], webhookLatencies: number[]) {
  const number = (value: unknown) => (typeof value === 'number' ? value : null);
  const firstQr = events.find((event) => event.type === 'qr' || event.type === 'pairing_code');
  const ready = [...events].reverse().find((event) => event.type === 'session_ready');
  return {
    qrGenerationMs: number(firstQr?.data.qrGenerationMs),
    scanToConnectedMs: number(ready?.data.scanToConnectedMs),
    phoneExtractionMs: number(ready?.data.phoneExtractionMs),
    webhookLatencyMs: webhookLatencies.length ? { last: webhookLatencies[0], max: Math.max(...webhookLatencies) } : null,
  };
}

/** Diagnostics are shared with support: QR payloads (a login credential while valid) stay out. */
function redactQr(event: AccountEvent): Record<string, unknown> {
  if (event.type !== 'qr' && event.type !== 'pairing_code') return event.data;
  const { qr: _qr, code: _code, ...rest } = event.data;
  return rest;
}

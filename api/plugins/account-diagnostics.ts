import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { listRecentAccountEvents, type AccountEvent } from '../../db/account-events.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { accountFor } from '../account-access.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { describeAccountWorkflow } from '../account-workflow.js';
import { toAccountView } from '../account-view.js';
import { AccountParams, problemResponses } from '../schemas.js';

/** What an operator asks about one account: the row, recent events, its workflow and activities, measured timings. */
export default async function accountDiagnosticsPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal } = options;

  app.get(
    '/accounts/:sessionId/diagnostics',
    {
      schema: {
        summary:
          'Everything about one account in one answer: the row, recent events, its workflow, pending activities, the last failure and measured timings',
        tags: ['accounts'],
        params: AccountParams,
        response: { 200: { type: 'object', additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      const events = await listRecentAccountEvents(pool, row.workspace_id, row.session_id, 50);
      const deliveries = await listDeliveries(pool, {
        workspaceId: row.workspace_id,
        sessionId: row.session_id,
        limit: 50,
      });
      const workflow = await describeAccountWorkflow(temporal, row.workspace_id, row.session_id);
      return {
        account: toAccountView(row),
        workflow,
        // The row's reason once the account failed; before that, why the last engine start failed or dropped.
        lastFailure: row.failure_reason ?? lastEngineFailure(events),
        // What its host last saw of the client (engine/session-upkeep.ts), and which build it should run.
        engine: {
          lastSeenAt: row.last_seen_at === null ? null : new Date(row.last_seen_at).toISOString(),
          memoryBytes: row.engine_memory_bytes,
          webVersion: row.web_version,
          webVersionPin: row.web_version_pin,
          serviceWebVersion: options.serviceWebVersion,
          pinnedBy: row.web_version_pin ? 'account' : options.serviceWebVersion ? 'service' : null,
        },
        timings: measuredTimings(
          events,
          deliveries.filter((d) => d.delivered).map((d) => d.latency_ms ?? 0),
        ),
        events: events.map((event) => ({
          id: event.id,
          type: event.type,
          status: event.status,
          data: redactQr(event),
          occurredAt: new Date(event.occurred_at).toISOString(),
        })),
        webhookDeliveries: deliveries,
      };
    },
  );
}

function lastEngineFailure(events: readonly AccountEvent[]): string | null {
  const retry = [...events].reverse().find((event) => event.type === 'engine_retry_scheduled');
  return typeof retry?.data.reason === 'string' ? retry.data.reason : null;
}

/** The earlier Node service's "expected timings", measured for this account from its own event log. */
function measuredTimings(events: readonly AccountEvent[], webhookLatencies: number[]) {
  const number = (value: unknown) => (typeof value === 'number' ? value : null);
  const firstQr = events.find((event) => event.type === 'qr' || event.type === 'pairing_code');
  const ready = [...events].reverse().find((event) => event.type === 'session_ready');
  return {
    qrGenerationMs: number(firstQr?.data.qrGenerationMs),
    scanToConnectedMs: number(ready?.data.scanToConnectedMs),
    phoneExtractionMs: number(ready?.data.phoneExtractionMs),
    webhookLatencyMs: webhookLatencies.length
      ? { last: webhookLatencies[0], max: Math.max(...webhookLatencies) }
      : null,
  };
}

/** Diagnostics are shared with support: QR payloads (a login credential while valid) stay out. */
function redactQr(event: AccountEvent): Record<string, unknown> {
  if (event.type !== 'qr' && event.type !== 'pairing_code') return event.data;
  const { qr: _qr, code: _code, ...rest } = event.data;
  return rest;
}

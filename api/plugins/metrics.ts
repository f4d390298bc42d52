import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { DatabasePool } from 'slonik';
import { assertAdmin } from './auth.js';
import { EXPECTED_STATUS_SECONDS, countStuckAccounts } from '../../db/stuck-accounts.js';
import { ACCOUNT_STATUSES } from '../../domain/account-status.js';
import { WAIT_KINDS } from '../../domain/account-wait.js';
import { endpointsDisabledForFailing } from '../../db/webhook-endpoints.js';
import {
  accountGauges,
  deliveryCounts,
  eventTimingHistogram,
  hostRestartCounts,
  proxyFailureCounts,
  transitionCounts,
  webVersionGauges,
  webhookLatencyHistogram,
  type HistogramData,
} from '../../db/metrics.js';
import { canaryDecisionCounts, CANARY_STATES } from '../../db/web-build-canaries.js';

const ACCOUNT_METRICS_TTL_MS = 15_000;
const TIMING_BUCKETS_MS = [50, 100, 150, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];

/**
 * GET /metrics (Prometheus text). Two kinds:
 * - this process's own: HTTP request durations, Node.js runtime;
 * - the account metrics, derived at scrape time from the event log and the delivery log in PostgreSQL. Workers do
 *   the work, any API process reports it, and every API process reports the same numbers: aggregate them with
 *   max(), not sum().
 */
async function metricsPlugin(app: FastifyInstance, options: { pool: DatabasePool; serviceWebVersion: string | null }) {
  // The account metrics scan the event and delivery logs: computed at most once per interval, whatever the scrapes.
  let accountMetrics: { lines: Promise<string[]>; at: number } | null = null;
  const cachedAccountMetrics = () => {
    if (!accountMetrics || Date.now() - accountMetrics.at > ACCOUNT_METRICS_TTL_MS) {
      const lines = accountMetricLines(options.pool, options.serviceWebVersion);
      accountMetrics = { lines, at: Date.now() };
      lines.catch(() => {
        accountMetrics = null;
      });
    }
    return accountMetrics.lines;
  };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wa_api_' });
  const requestDuration = new Histogram({
    name: 'wa_api_http_request_duration_seconds',
    help: 'HTTP request duration in this API process',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get(
    '/metrics',
    { config: { auth: 'metrics' }, schema: { summary: 'Prometheus metrics', tags: ['operations'] } },
    async (request, reply) => {
      if (!request.principal?.scopes?.includes('metrics:read')) assertAdmin(request);
      const lines = await cachedAccountMetrics();
      return reply.type(registry.contentType).send(`${await registry.metrics()}\n${lines.join('\n')}\n`);
    },
  );
}

async function accountMetricLines(pool: DatabasePool, serviceWebVersion: string | null): Promise<string[]> {
  const [
    qr,
    scan,
    extraction,
    webhooks,
    transitions,
    deliveries,
    gauges,
    stuck,
    restarts,
    versions,
    disabledEndpoints,
    proxyFailures,
    canaryDecisions,
  ] = await Promise.all([
    eventTimingHistogram(pool, ['qr', 'pairing_code'], 'qrGenerationMs', TIMING_BUCKETS_MS),
    eventTimingHistogram(pool, ['session_ready'], 'scanToConnectedMs', TIMING_BUCKETS_MS),
    eventTimingHistogram(pool, ['session_ready'], 'phoneExtractionMs', TIMING_BUCKETS_MS),
    webhookLatencyHistogram(pool, TIMING_BUCKETS_MS),
    transitionCounts(pool),
    deliveryCounts(pool),
    accountGauges(pool),
    countStuckAccounts(pool),
    hostRestartCounts(pool),
    webVersionGauges(pool, serviceWebVersion),
    endpointsDisabledForFailing(pool),
    proxyFailureCounts(pool),
    canaryDecisionCounts(pool),
  ]);
  const lines = [
    ...histogramLines('wa_qr_generation_seconds', 'From account creation to its first QR or pairing code', qr),
    ...histogramLines(
      'wa_scan_to_connected_seconds',
      'From authenticated (the scan) to connected with the phone number',
      scan,
    ),
    ...histogramLines(
      'wa_phone_extraction_seconds',
      'Phone number extraction after ready, retries included',
      extraction,
    ),
    ...histogramLines('wa_webhook_delivery_seconds', 'Webhook delivery attempt latency', webhooks),
    '# HELP wa_account_transitions_total Account events by type and resulting status',
    '# TYPE wa_account_transitions_total counter',
    ...transitions.map((t) => `wa_account_transitions_total{type="${t.type}",status="${t.status ?? ''}"} ${t.count}`),
    '# HELP wa_webhook_attempts_total Webhook delivery attempts by outcome',
    '# TYPE wa_webhook_attempts_total counter',
    ...deliveries.map((d) => `wa_webhook_attempts_total{delivered="${d.delivered}"} ${d.count}`),
    '# HELP wa_webhook_endpoints_disabled Webhook endpoints the service disabled after every attempt failed for 3 days',
    '# TYPE wa_webhook_endpoints_disabled gauge',
    `wa_webhook_endpoints_disabled ${disabledEndpoints}`,
    '# HELP wa_proxy_failures_total Session starts that failed at the account’s proxy, by why',
    '# TYPE wa_proxy_failures_total counter',
    ...['proxy_unreachable', 'proxy_auth_failed', 'proxy_refused', 'proxy_not_allowed'].map(
      (reason) =>
        `wa_proxy_failures_total{reason="${reason}"} ${proxyFailures.find((f) => f.reason === reason)?.count ?? 0}`,
    ),
    '# HELP wa_web_build_canaries WhatsApp Web build canaries by state: running, or how each ended (promoted, rolled_back, stopped)',
    '# TYPE wa_web_build_canaries gauge',
    ...CANARY_STATES.map((state) => `wa_web_build_canaries{state="${state}"} ${canaryDecisions[state] ?? 0}`),
    '# HELP wa_accounts Live accounts by status',
    '# TYPE wa_accounts gauge',
    ...ACCOUNT_STATUSES.map(
      (status) => `wa_accounts{status="${status}"} ${gauges.byStatus.find((g) => g.status === status)?.count ?? 0}`,
    ),
    '# HELP wa_accounts_waiting Accounts waiting, by what for: a seat on a host, an engine start, the next attempt',
    '# TYPE wa_accounts_waiting gauge',
    ...WAIT_KINDS.map(
      (kind) => `wa_accounts_waiting{kind="${kind}"} ${gauges.waiting.find((g) => g.kind === kind)?.count ?? 0}`,
    ),
    '# HELP wa_accounts_stuck Live accounts in a status longer than it should last (GET /v1/admin/stuck-accounts)',
    '# TYPE wa_accounts_stuck gauge',
    ...Object.keys(EXPECTED_STATUS_SECONDS).map(
      (status) => `wa_accounts_stuck{status="${status}"} ${stuck.find((s) => s.status === status)?.count ?? 0}`,
    ),
    '# HELP wa_session_restarts_total Sessions restarted by their own host: unresponsive to its checks, or past the memory limit',
    '# TYPE wa_session_restarts_total counter',
    ...(['unresponsive', 'memory'] as const).map(
      (why) => `wa_session_restarts_total{why="${why}"} ${restarts.find((r) => r.why === why)?.count ?? 0}`,
    ),
    '# HELP wa_sessions_by_web_version Connected sessions by the WhatsApp Web build they run',
    '# TYPE wa_sessions_by_web_version gauge',
    ...versions.byVersion.map((v) => `wa_sessions_by_web_version{version="${labelValue(v.version)}"} ${v.count}`),
    '# HELP wa_sessions_off_expected_web_version Connected sessions running another build than their pin (or the majority)',
    '# TYPE wa_sessions_off_expected_web_version gauge',
    `wa_sessions_off_expected_web_version ${versions.offExpected}`,
    '# HELP wa_web_version_pinned The WhatsApp Web build the service pins (WA_WEB_VERSION)',
    '# TYPE wa_web_version_pinned gauge',
    ...(serviceWebVersion ? [`wa_web_version_pinned{version="${labelValue(serviceWebVersion)}"} 1`] : []),
  ];
  return lines;
}

/** A label value as the text format needs it (a build name reported by a page is not trusted to be plain). */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function histogramLines(name: string, help: string, data: HistogramData): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...data.buckets.map((b) => `${name}_bucket{le="${b.le / 1000}"} ${b.count}`),
    `${name}_bucket{le="+Inf"} ${data.count}`,
    `${name}_sum ${data.sum / 1000}`,
    `${name}_count ${data.count}`,
  ];
}

// Not encapsulated: the request histogram's hook must see every route, registered after this plugin.
export default fp(metricsPlugin, { name: 'metrics' });

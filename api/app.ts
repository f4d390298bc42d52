import cookie from '@fastify/cookie';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { PhoneActionOutcomes } from '../engine/phone/outcomes.js';
import type { Keyring } from '../lib/keyring.js';
import type { Logger } from '../lib/logger.js';
import type { WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import { WebhookPayloadSchema } from '../webhooks/payload-schema.js';
import { accountCreationGate } from './account-creation-rate.js';
import { AccountView } from './account-view.js';
import { EventFanout } from './event-fanout.js';
import { clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { LEGACY_KEYLESS_OFF, type LegacyKeylessAccess } from './legacy-keyless-access.js';
import adminPlugin from './plugins/admin.js';
import adminAuditPlugin from './plugins/audit-log.js';
import auditPlugin from './plugins/audit.js';
import authPlugin from './plugins/auth.js';
import escalationBundlePlugin from './plugins/escalation-bundle.js';
import eventStreamPlugin from './plugins/event-stream.js';
import healthPlugin from './plugins/health.js';
import hostsPlugin from './plugins/hosts.js';
import keyInfoPlugin from './plugins/key-info.js';
import legacySessionApiPlugin from './plugins/legacy-session-api.js';
import metricsPlugin from './plugins/metrics.js';
import openApiPlugin from './plugins/openapi.js';
import operatorConsolePlugin from './plugins/operator-console.js';
import onboardingPagePlugin from './plugins/onboarding-page.js';
import pagePlugin from './plugins/page.js';
import problemDetailsPlugin from './plugins/problem-details.js';
import requestRatePlugin from './plugins/request-rate.js';
import simulatorPlugin from './plugins/simulator.js';
import storableTextPlugin from './plugins/storable-text.js';
import stuckAccountsPlugin from './plugins/stuck-accounts.js';
import temporalCodecPlugin from './plugins/temporal-codec.js';
import webBuildCanariesPlugin from './plugins/web-build-canaries.js';
import websocketsPlugin from './plugins/websockets.js';
import workspaceScopePlugin from './plugins/workspace-scope.js';
import { readinessChecks } from './readiness-checks.js';
import { bodyStrictValidator } from './request-validation.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-guard.js';
import type { WorkspaceServices } from './workspace-services.js';

const DEFAULT_LIVE_ACCOUNT_LIMIT = 100;

export interface AppDependencies {
  pool: DatabasePool;
  databaseUrl: string;
  temporal: Client;
  log: Logger;
  taskQueue: string;
  /** Serve the simulated engine's control surface (only when workers run the simulated engine). */
  simulator: boolean;
  /** The token Prometheus reads /metrics with (default: none; admin keys only). */
  metricsToken?: string | null;
  /** The legacy session API's key-less access (default: off). */
  legacyKeyless?: LegacyKeylessAccess;
  /** Event streams per key and per address, and how soon a revoked key's streams close. */
  streamLimits?: StreamLimits;
  /** Live accounts a workspace may keep unless an operator set its own limit (default 100). */
  liveAccountLimit?: number;
  /** Where webhooks may go (WEBHOOK_ALLOWED_HOSTS). */
  webhookPolicy: WebhookNetworkPolicy;
  /** Where an account's proxy may be (PROXY_ALLOWED_HOSTS). */
  proxyPolicy: WebhookNetworkPolicy;
  rateLimitPerMinute?: number;
  /** Accounts a key may create per minute (default 30). */
  accountCreationsPerMinute?: number;
  /** Invalid keys an address may present per minute before it is refused without a lookup (default 30). */
  failedAuthenticationsPerMinute?: number;
  /** Temporal's Web UI server, served at /temporal behind an operator login (default: none). */
  temporalUiUrl?: string | null;
  /** How long an operator's browser session lasts (default 8 h). */
  operatorSessionLifetimeMs?: number;
  /** The WhatsApp Web build the workers pin (WA_WEB_VERSION); null: the library's default. */
  serviceWebVersion: string | null;
  /** The proxies in front (TRUST_PROXY: addresses or CIDRs) whose X-Forwarded-* are believed; default none. */
  trustProxy?: string[];
  /** How long a request (headers and body) may take to arrive whole (default 30 s). */
  requestTimeoutMs?: number;
  /** Trace every request (@fastify/otel) into the process's tracer provider (lib/tracing.ts). */
  traceRequests?: boolean;
  /** How long the audit log keeps an entry, in days (default 365; AUDIT_RETENTION_DAYS). */
  auditRetentionDays?: number;
  /** The keys webhook signing secrets are sealed with and onboarding links signed with (ENCRYPTION_KEYS). */
  keyring: Keyring;
  /** The address customers open onboarding links at (PUBLIC_URL); default: the address each request came to. */
  publicUrl?: string | null;
}

function requestLogView(request: { method?: string; url?: string; ip?: string }) {
  return {
    method: request.method,
    url: (request.url ?? '')
      .replace(/([?&]access_token=)[^&]*/g, '$1[redacted]')
      // An onboarding link's token opens the account's QR: it is the link, and stays out of logs like a key.
      .replace(/^\/onboard\/[^/?]+/, '/onboard/[redacted]'),
    remoteAddress: request.ip,
  };
}

/** Builds the Fastify app: one plugin per concern. The API keeps no account state in memory. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  // Browsers pass the API key as ?access_token= on WebSockets: it must never reach a log line.
  const loggerInstance: FastifyBaseLogger = deps.log.child({}, { serializers: { req: requestLogView } });
  const requestTimeoutMs = deps.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    loggerInstance,
    bodyLimit: 256 * 1024,
    // A client that sends its request slowly holds a socket and memory: it has 30 s for the whole request. Idle
    // keep-alive sockets close after 10 s. (No idle timeout on sockets: a WebSocket may be quiet for minutes.)
    // Node enforces both deadlines only when it checks its connections (every 30 s by default, so a slow request
    // lived up to twice its deadline): checking every second holds them within a second.
    requestTimeout: requestTimeoutMs,
    http: { headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs / 4) },
    keepAliveTimeout: 10_000,
    frameworkErrors,
    clientErrorHandler,
    // request.ip, request.protocol (the operator cookie's Secure) and every per-address limit read the client the
    // trusted proxies report; with none trusted, X-Forwarded-* from anyone are ignored.
    trustProxy: deps.trustProxy?.length ? deps.trustProxy : false,
    // Reject, never silently drop, fields a schema does not know.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // A JSON body states its own types; query strings and paths are text, coerced to their schemas' types.
    schemaController: { compilersFactory: { buildValidator: bodyStrictValidator } },
  });
  const fanout = new EventFanout(deps.pool, deps.databaseUrl, deps.log);
  await fanout.start();
  app.addHook('onClose', async () => fanout.stop());

  if (deps.traceRequests) {
    // A span per request, the handler's work inside it: a workflow started there joins the request's trace.
    // Its path as the logs show it: a key given as ?access_token= or an onboarding link's token would otherwise
    // leave the process in every trace.
    const instrumentation = new FastifyOtelInstrumentation({
      requestHook: (span, request) => span.setAttribute('url.path', requestLogView(request).url),
    });
    await app.register(instrumentation.plugin());
  }
  await app.register(problemDetailsPlugin);
  // The account as every route group answers it (the workspace's routes, the operators' stuck list).
  app.addSchema(AccountView);
  // What a webhook receiver is sent, by event: published for receivers to type their handlers (no route answers it).
  app.addSchema(WebhookPayloadSchema);
  await app.register(storableTextPlugin);
  await app.register(openApiPlugin);
  await app.register(cookie);
  await app.register(authPlugin, {
    pool: deps.pool,
    legacyKeyless: deps.legacyKeyless ?? LEGACY_KEYLESS_OFF,
    metricsToken: deps.metricsToken ?? null,
    failedAuthenticationsPerMinute: deps.failedAuthenticationsPerMinute ?? 30,
  });
  await app.register(auditPlugin, { pool: deps.pool, retentionDays: deps.auditRetentionDays ?? 365 });
  await app.register(requestRatePlugin, { perMinute: deps.rateLimitPerMinute ?? 600 });
  await app.register(metricsPlugin, {
    pool: deps.pool,
    serviceWebVersion: deps.serviceWebVersion,
  });
  await app.register(healthPlugin, { checks: readinessChecks(deps.pool, deps.temporal) });
  await app.register(websocketsPlugin);
  await app.register(pagePlugin);
  await app.register(onboardingPagePlugin, { pool: deps.pool, temporal: deps.temporal, keyring: deps.keyring, fanout });
  const workspaceServices: WorkspaceServices = {
    pool: deps.pool,
    temporal: deps.temporal,
    taskQueue: deps.taskQueue,
    webhookPolicy: deps.webhookPolicy,
    proxyPolicy: deps.proxyPolicy,
    liveAccountLimit: deps.liveAccountLimit ?? DEFAULT_LIVE_ACCOUNT_LIMIT,
    accountCreationGate: accountCreationGate(deps.accountCreationsPerMinute ?? 30),
    serviceWebVersion: deps.serviceWebVersion,
    keyring: deps.keyring,
    publicUrl: deps.publicUrl ?? null,
  };
  await app.register(workspaceScopePlugin, { ...workspaceServices, prefix: '/v1/workspaces/:workspaceId' });
  await app.register(adminPlugin, { pool: deps.pool });
  await app.register(stuckAccountsPlugin, { pool: deps.pool });
  await app.register(hostsPlugin, { pool: deps.pool });
  await app.register(webBuildCanariesPlugin, { pool: deps.pool, temporal: deps.temporal, taskQueue: deps.taskQueue });
  await app.register(escalationBundlePlugin, { pool: deps.pool, temporal: deps.temporal });
  await app.register(keyInfoPlugin);
  await app.register(adminAuditPlugin, { pool: deps.pool });
  await app.register(temporalCodecPlugin, { codecs: deps.temporal.options.loadedDataConverter.payloadCodecs });
  await app.register(operatorConsolePlugin, {
    pool: deps.pool,
    temporalUiUrl: deps.temporalUiUrl ?? null,
    sessionLifetimeMs: deps.operatorSessionLifetimeMs ?? 8 * 3_600_000,
  });
  await app.register(legacySessionApiPlugin, workspaceServices);
  await app.register(eventStreamPlugin, {
    pool: deps.pool,
    fanout,
    limits: deps.streamLimits ?? DEFAULT_STREAM_LIMITS,
  });
  if (deps.simulator) {
    const outcomes = new PhoneActionOutcomes(deps.databaseUrl, deps.log);
    await outcomes.start();
    app.addHook('onClose', async () => outcomes.stop());
    await app.register(simulatorPlugin, { pool: deps.pool, outcomes });
  }
  return app;
}

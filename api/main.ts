import { Client, Connection } from '@temporalio/client';
import { readProcessEnv } from '../config/env.js';
import { serviceLogger } from '../config/logging.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { exitWithin } from '../lib/exit-deadline.js';
import { exitWithParent } from '../lib/exit-with-parent.js';
import { startTracing } from '../lib/tracing.js';
import { parseKeyring } from '../lib/keyring.js';
import { reencryptWebhookSecrets } from '../db/webhook-secrets.js';
import { dataConverterFromEnv } from '../lib/payload-encryption.js';
import { temporalTlsFromEnv } from '../lib/temporal-tls.js';
import { webhookPolicyFromEnv } from '../webhooks/network-policy.js';
import { buildApp } from './app.js';
import { legacyKeylessAccessFromEnv } from './legacy-keyless-access.js';

/** Requests in flight get this long to finish when the API stops; then it exits regardless. */
const API_STOP_GRACE_MS = 10_000;

async function main() {
  const log = serviceLogger('api');
  const env = readProcessEnv();
  const parent = exitWithParent(env.WA_SUPERVISED);
  await migrate(env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL, log);
  const pool = await createDatabasePool(env.DATABASE_URL, { taskQueue: env.TASK_QUEUE });
  const keyring = parseKeyring(env.ENCRYPTION_KEYS);
  // Secrets from before sealing are sealed here, before the first request: the API is the process that writes
  // workspaces, and a clear secret is refused by every reader (and by the table's check on every new write).
  const sealed = await reencryptWebhookSecrets(pool, keyring, { onlyClear: true });
  if (sealed.moved > 0) log.info({ workspaces: sealed.moved }, 'webhook secrets sealed');
  if (sealed.unreadable.length > 0)
    log.error({ workspaces: sealed.unreadable }, 'webhook secrets that could not be sealed');
  // Lazy: the API comes up even while Temporal is down, and /ready says so instead of the process crashing.
  const tls = temporalTlsFromEnv(env);
  const connection = Connection.lazy({ address: env.TEMPORAL_ADDRESS, connectTimeout: 2_000, ...(tls ? { tls } : {}) });
  const tracing = startTracing({
    endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: env.OTEL_SERVICE_NAME ?? 'wa-connect-api',
  });
  const temporal = new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFromEnv(env),
    plugins: tracing ? [tracing.temporalPlugin] : [],
  });
  const app = await buildApp({
    pool,
    databaseUrl: env.DATABASE_URL,
    temporal,
    log,
    taskQueue: env.TASK_QUEUE,
    traceRequests: tracing !== null,
    simulator: env.WA_ENGINE === 'simulated' || env.WA_WEB === 'standin',
    liveAccountLimit: env.MAX_LIVE_ACCOUNTS_PER_WORKSPACE,
    metricsToken: env.METRICS_TOKEN ?? null,
    legacyKeyless: legacyKeylessAccessFromEnv(env.LEGACY_API_LOOPBACK_WITHOUT_KEY, env.LEGACY_API_WORKSPACES),
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    accountCreationsPerMinute: env.ACCOUNT_CREATIONS_PER_MINUTE,
    failedAuthenticationsPerMinute: env.FAILED_AUTHENTICATIONS_PER_MINUTE,
    temporalUiUrl: env.TEMPORAL_UI_URL ?? null,
    operatorSessionLifetimeMs: env.OPERATOR_SESSION_HOURS * 3_600_000,
    trustProxy: env.TRUST_PROXY,
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    keyring,
    publicUrl: env.PUBLIC_URL ?? null,
    webhookPolicy: webhookPolicyFromEnv(env.WEBHOOK_ALLOWED_HOSTS),
    proxyPolicy: webhookPolicyFromEnv(env.PROXY_ALLOWED_HOSTS),
    serviceWebVersion: env.WA_WEB_VERSION ?? null,
  });

  let closing = false;
  const close = async (reason: string) => {
    if (closing) return;
    closing = true;
    log.info({ reason }, 'api stopping');
    exitWithin(API_STOP_GRACE_MS, log, reason);
    await app.close();
    // A connect attempt still running when the channel closes throws inside the gRPC library; let it end first.
    await connection.ensureConnected().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await tracing?.shutdown().catch(() => undefined);
    // A connection that died under the pool (a database restart) stays in it, and ending it throws: nothing is lost.
    await pool.end().catch((error: unknown) => log.warn({ err: error }, 'a database connection was gone at shutdown'));
    log.info('api stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void close('SIGTERM'));
  process.once('SIGINT', () => void close('SIGINT'));
  parent.whenOrphaned(() => void close('supervisor is gone'));

  await app.listen({ host: env.API_HOST, port: env.API_PORT });
}

main().catch((error: unknown) => {
  serviceLogger('api').fatal({ err: error }, 'api failed to start');
  process.exit(1);
});

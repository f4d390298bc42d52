import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { DatabasePool } from 'slonik';
import { buildApp } from '../../api/app.js';
import { createApiKey } from '../../db/workspaces.js';
import type { LegacyKeylessAccess } from '../../api/legacy-keyless-access.js';
import type { StreamLimits } from '../../api/stream-guard.js';
import { webhookPolicyFromEnv, type WebhookNetworkPolicy } from '../../webhooks/network-policy.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { openTemporalClient, testLog, testStackEnv, uniqueId } from './context.js';
import { apiRolePool } from './worker-process.js';

export interface TestApi {
  app: FastifyInstance;
  adminKey: string;
  /** A fresh key of this workspace. */
  keyFor(workspaceId: string): Promise<string>;
  /** app.inject with the key as a bearer token. */
  as(key: string, options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** The webhook network policy `npm test` configures: its receivers listen on loopback (scripts/test.ts). */
export function testWebhookPolicy(): WebhookNetworkPolicy {
  return webhookPolicyFromEnv(process.env.WEBHOOK_ALLOWED_HOSTS);
}

export async function buildTestApi(
  pool: DatabasePool,
  temporal: Client,
  options: {
    taskQueue: string;
    simulator: boolean;
    rateLimitPerMinute?: number;
    webhookPolicy?: WebhookNetworkPolicy;
    liveAccountLimit?: number;
    metricsToken?: string;
    streamLimits?: StreamLimits;
    accountCreationsPerMinute?: number;
    failedAuthenticationsPerMinute?: number;
    temporalUiUrl?: string;
    serviceWebVersion?: string;
    trustProxy?: string[];
    legacyKeyless?: LegacyKeylessAccess;
    requestTimeoutMs?: number;
    traceRequests?: boolean;
  },
): Promise<TestApi> {
  const app = await buildApp({
    pool,
    databaseUrl: testStackEnv().databaseUrl,
    temporal,
    log: testLog,
    taskQueue: options.taskQueue,
    simulator: options.simulator,
    ...(options.rateLimitPerMinute ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
    webhookPolicy: options.webhookPolicy ?? testWebhookPolicy(),
    proxyPolicy: webhookPolicyFromEnv(process.env.PROXY_ALLOWED_HOSTS),
    keyring: keyringFromEnv(process.env),
    ...(options.liveAccountLimit !== undefined ? { liveAccountLimit: options.liveAccountLimit } : {}),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(options.streamLimits ? { streamLimits: options.streamLimits } : {}),
    ...(options.accountCreationsPerMinute ? { accountCreationsPerMinute: options.accountCreationsPerMinute } : {}),
    ...(options.failedAuthenticationsPerMinute
      ? { failedAuthenticationsPerMinute: options.failedAuthenticationsPerMinute }
      : {}),
    ...(options.temporalUiUrl ? { temporalUiUrl: options.temporalUiUrl } : {}),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    serviceWebVersion: options.serviceWebVersion ?? null,
    ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
    ...(options.legacyKeyless ? { legacyKeyless: options.legacyKeyless } : {}),
    ...(options.traceRequests ? { traceRequests: true } : {}),
  });
  const { key: adminKey } = await createApiKey(pool, { workspaceId: null, name: 'test admin' });
  return {
    app,
    adminKey,
    keyFor: async (workspaceId) => (await createApiKey(pool, { workspaceId, name: `test ${workspaceId}` })).key,
    as: (key, options) =>
      app.inject({ ...options, headers: { ...(options.headers ?? {}), authorization: `Bearer ${key}` } }),
  };
}

/**
 * For a describe block: an API app (no worker behind it) over the test stack, built before its tests and closed
 * after. `api.app` and friends are filled in by the `before` hook.
 */
export function useTestApi(options: Omit<Parameters<typeof buildTestApi>[2], 'taskQueue' | 'simulator'> = {}): TestApi {
  const api = {} as TestApi;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    // Logged in as production's API is: with the API's role, so a missing grant fails here and not in production.
    const pool = await apiRolePool();
    const temporal = await openTemporalClient();
    Object.assign(
      api,
      await buildTestApi(pool, temporal.client, { ...options, taskQueue: uniqueId('tq-idle'), simulator: false }),
    );
    close = async () => {
      await api.app.close();
      await temporal.close();
      await pool.end();
    };
  });
  after(async () => close?.());
  return api;
}

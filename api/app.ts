import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import type { Logger } from '../lib/logger.js';
import accountsPlugin from './plugins/accounts.js';
import healthPlugin from './plugins/health.js';
import openApiPlugin from './plugins/openapi.js';
import simulatorPlugin from './plugins/simulator.js';
import problemDetailsPlugin from './plugins/problem-details.js';

export interface AppDependencies {
  pool: DatabasePool;
  temporal: Client;
  log: Logger;
  taskQueue: string;
  /** Serve the simulated engine's control surface (only when workers run the simulated engine). */
  simulator: boolean;
}

/** Builds the Fastify app: one plugin per concern. The API keeps no account state in memory. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    // Reject, never silently drop, fields a schema does not know.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  await app.register(problemDetailsPlugin);
  await app.register(openApiPlugin);
  await app.register(healthPlugin, {
    checks: {
      postgres: async () => {
        await deps.pool.oneFirst(sql.unsafe`SELECT 1`);
      },
      temporal: async () => {
        // A gRPC deadline so an unreachable server ends the call instead of leaving it retrying.
        await deps.temporal.connection.withDeadline(Date.now() + 2_000, () => deps.temporal.connection.workflowService.getSystemInfo({}));
      },
    },
  });
  await app.register(accountsPlugin, { pool: deps.pool, temporal: deps.temporal, taskQueue: deps.taskQueue });
  if (deps.simulator) await app.register(simulatorPlugin, { pool: deps.pool });
  return app;
}

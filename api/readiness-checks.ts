import { isGrpcServiceError, type Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import type { ReadinessCheck } from './plugins/health.js';

/** gRPC's NOT_FOUND status code. */
const GRPC_NOT_FOUND = 5;

/** What `/ready` asks: PostgreSQL answers a query, Temporal reads its own persistence. */
export function readinessChecks(pool: DatabasePool, temporal: Client): Record<string, ReadinessCheck> {
  return {
    postgres: async () => {
      await pool.oneFirst(sql.unsafe`SELECT 1`);
    },
    temporal: () => temporalAnswers(temporal),
  };
}

/**
 * Temporal is ready when it reads its own persistence: a lookup of a workflow that never exists answers NotFound
 * from a server whose database is up, and an error when that database is down (the server itself still answers).
 * A gRPC deadline ends the call when the server is unreachable instead of leaving it retrying.
 */
async function temporalAnswers(temporal: Client): Promise<void> {
  try {
    await temporal.connection.withDeadline(Date.now() + 2_000, () =>
      temporal.connection.workflowService.describeWorkflowExecution({
        namespace: temporal.options.namespace,
        execution: { workflowId: 'wa-connect-readiness-probe' },
      }),
    );
  } catch (error) {
    if (isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND) return;
    throw error;
  }
}

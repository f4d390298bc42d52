import { isGrpcServiceError, ServiceError, type Client } from '@temporalio/client';
import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  IdleTransactionTimeoutError,
} from 'slonik';

export type UnavailableDependency = 'database' | 'temporal';

/** SQLSTATEs of a server that dropped or refused the session: class 08, and shutting down or starting up. */
const DATABASE_SESSION_LOST = /^(08...|57P0[1-3])$/;
/** gRPC's UNAVAILABLE and DEADLINE_EXCEEDED: the frontend could not be reached or did not answer in time. */
const TEMPORAL_UNREACHABLE = new Set<number>([14, 4]);

/**
 * Which dependency a request failed for when it failed because that dependency could not be reached (a connection
 * refused, timed out or dropped; a server shutting down), not because of anything in the request: such a request may
 * simply be sent again. `null` for every other error.
 */
export function unavailableDependency(error: unknown): UnavailableDependency | null {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth += 1) {
    if (
      cause instanceof ConnectionError ||
      cause instanceof BackendTerminatedError ||
      cause instanceof BackendTerminatedUnexpectedlyError ||
      cause instanceof IdleTransactionTimeoutError
    ) {
      return 'database';
    }
    if (cause instanceof ServiceError || isGrpcServiceError(cause)) {
      const grpc = isGrpcServiceError(cause) ? cause : isGrpcServiceError(cause.cause) ? cause.cause : null;
      return grpc && TEMPORAL_UNREACHABLE.has(grpc.code) ? 'temporal' : null;
    }
    // PostgreSQL's own errors (they carry a severity) that say the session is gone, whatever wrapped them.
    const { code, severity } = cause as { code?: unknown; severity?: unknown };
    if (typeof severity === 'string' && typeof code === 'string' && DATABASE_SESSION_LOST.test(code)) return 'database';
  }
  return null;
}

/** Below the request deadline (30 s by default), so a client hears 503 from the API, not a dropped connection. */
const TEMPORAL_CALL_DEADLINE_MS = 10_000;

/**
 * Runs the Temporal calls of `call` with a deadline: without one, a call to an unreachable frontend waits for the
 * connection for as long as the request lives. A call past it fails with DEADLINE_EXCEEDED, answered as 503.
 */
export function withTemporalDeadline<T>(temporal: Client, call: () => Promise<T>): Promise<T> {
  return temporal.connection.withDeadline(Date.now() + TEMPORAL_CALL_DEADLINE_MS, call);
}

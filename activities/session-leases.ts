import type { DatabasePool } from 'slonik';
import { askHolderToStop, type StopRequest } from '../db/session-leases.js';

/**
 * What an account asks of its session's host through the lease store, on the shared queue: the way to a host that
 * renews its leases but does not take tasks from Temporal (its network to Temporal cut), where its task queue cannot.
 */
export function createSessionLeaseActivities(pool: DatabasePool) {
  return {
    /**
     * A stop the host's task queue did not take: the holder of the session's lease stops its client at its next
     * renewal, if that client runs the generation stopped or an older one. Answers the host asked (null: no live
     * lease of that generation, so no client to stop).
     */
    async askHostToStop(input: StopRequest & { sessionId: string }): Promise<{ hostAsked: string | null }> {
      const { sessionId, ...request } = input;
      return { hostAsked: await askHolderToStop(pool, sessionId, request) };
    },
  };
}

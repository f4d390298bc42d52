import type { HostCapacity } from '../workers/host-capacity.js';

/**
 * `claimHost` runs on the placement queue, which a host polls only while it has a free seat (workers/host-capacity.ts):
 * whichever host picks a claim up keeps a seat for the session and answers with its own host queue; the workflow pins
 * every engine activity of the session there.
 */
export function createHostActivities(hostTaskQueue: string, capacity: HostCapacity) {
  return {
    async claimHost(input?: { sessionId: string }): Promise<{ taskQueue: string }> {
      if (input) capacity.promise(input.sessionId);
      return { taskQueue: hostTaskQueue };
    },
  };
}

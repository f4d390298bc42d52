/** This host's seats as placement and starts see them; the worker's capacity (workers/host-capacity.ts) keeps them. */
export interface HostSeats {
  /** A claim was answered with this host: keep the session's seat until it starts. */
  holdSeat(sessionId: string): void;
  /** The session started here: its held seat is now a running session. */
  seatTaken(sessionId: string): void;
}

/**
 * `claimHost` runs on the placement queue, which a host polls only while it has a free seat (workers/host-capacity.ts):
 * whichever host picks a claim up keeps a seat for the session and answers with its own host queue; the workflow pins
 * every engine activity of the session there.
 */
export function createPlacementActivities(hostTaskQueue: string, seats: HostSeats) {
  return {
    async claimHost(input?: { sessionId: string }): Promise<{ taskQueue: string }> {
      if (input) seats.holdSeat(input.sessionId);
      return { taskQueue: hostTaskQueue };
    },
  };
}

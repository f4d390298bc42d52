import { ApplicationFailure } from '@temporalio/activity';

/** This host's seats as placement and starts see them; the worker's capacity (workers/host-capacity.ts) keeps them. */
export interface HostSeats {
  /** Whether this host may take a session now: its lease store answers it. */
  mayTakeSessions(): boolean;
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
      // A host that lost its database polls for no claim, but a poll it opened before stays open for up to a minute
      // and may still bring one: handed back, its retry goes to a host that can start the session.
      if (!seats.mayTakeSessions()) {
        throw ApplicationFailure.retryable('this host does not reach its lease store', 'HostCannotTakeSessions');
      }
      if (input) seats.holdSeat(input.sessionId);
      return { taskQueue: hostTaskQueue };
    },
  };
}

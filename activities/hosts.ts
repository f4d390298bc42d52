/**
 * `claimHost` runs on the shared queue: whichever worker picks it up answers with its own host queue, and the
 * workflow pins every engine activity of the session there.
 */
export function createHostActivities(hostTaskQueue: string) {
  return {
    async claimHost(): Promise<{ taskQueue: string }> {
      return { taskQueue: hostTaskQueue };
    },
  };
}

/** Runs on a host queue: a short schedule-to-start timeout on it tells a workflow whether its host is still alive. */
export function createHostQueueActivities(hostTaskQueue: string) {
  return {
    async pingHost(): Promise<{ taskQueue: string; pid: number }> {
      return { taskQueue: hostTaskQueue, pid: process.pid };
    },
  };
}

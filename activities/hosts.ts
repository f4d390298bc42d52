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

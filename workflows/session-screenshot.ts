import { proxyActivities } from '@temporalio/workflow';
import type { EngineSessionActivities } from '../activities/index.js';
import { checkedInput, isName, readableResults, type Fields } from './payload-checks.js';

export interface SessionScreenshotInput {
  /** The session's key, `<workspaceId>.<sessionId>`, as its host knows it. */
  sessionKey: string;
  /** The host queue of the process that runs the session: the holder of its lease. */
  hostTaskQueue: string;
  /** The API request that asked: 32 hex digits, the row it takes the image from. */
  requestId: string;
  /** The request's public key: the host seals the image for it alone. */
  readerKey: string;
}

/**
 * One screenshot of a session's page, taken on the host that runs it. Only the request's id and public key pass
 * through here: the host seals the image for that request and leaves it in the database, so this history never
 * holds it, not even sealed by the payload codec.
 */
export async function sessionScreenshot(screenshotInput: SessionScreenshotInput): Promise<void> {
  const input = checkedInput<SessionScreenshotInput>(screenshotInput, isSessionScreenshotInput, 'sessionScreenshot');
  // A person waits for the answer: a host that does not pick it up within seconds is not going to.
  const { captureSessionScreen } = readableResults(
    proxyActivities<EngineSessionActivities>({
      taskQueue: input.hostTaskQueue,
      scheduleToStartTimeout: '8 seconds',
      startToCloseTimeout: '10 seconds',
      heartbeatTimeout: '5 seconds',
      retry: { maximumAttempts: 2, nonRetryableErrorTypes: ['SessionNotOnHost', 'PageNotAnswering'] },
    }),
  );
  await captureSessionScreen({
    sessionId: input.sessionKey,
    requestId: input.requestId,
    readerKey: input.readerKey,
  });
}

function isSessionScreenshotInput(fields: Fields): boolean {
  return (
    isName(fields.sessionKey) &&
    isName(fields.hostTaskQueue) &&
    typeof fields.requestId === 'string' &&
    /^[0-9a-f]{32}$/.test(fields.requestId) &&
    isName(fields.readerKey)
  );
}

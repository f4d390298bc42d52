import { randomBytes } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { sessionHost } from '../../db/session-leases.js';
import { screenshotSealContext, takeScreenshot } from '../../db/session-screenshots.js';
import { sessionKey } from '../../domain/session-key.js';
import { newOneReader } from '../../lib/sealed-for-one-reader.js';
import { sessionScreenshot } from '../../workflows/session-screenshot.js';
import { workspaceIdKey } from '../../workflows/search-attributes.js';
import { accountFor } from '../account-access.js';
import { withTemporalDeadline } from '../dependency-outage.js';
import { HttpProblem, problem } from '../problem.js';
import { AccountParams, problemResponses } from '../schemas.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { assertAdmin } from './auth.js';

const image = Type.String({ format: 'binary' });
/** The host's attempts fit in it (workflows/session-screenshot.ts); the API's request deadline is 30 s. */
const SCREENSHOT_WITHIN_MS = 25_000;

/**
 * What an account's session shows in its browser, for an operator diagnosing it (the login screen is where "the QR
 * never appears" is seen). A connected session's page shows chats: admins only (a workspace key gets the 404 of a
 * route it lacks), a POST so the audit log records who looked, and the image is never stored: its host seals it for
 * this request's key, which lives only in this handler, and the row it travels in is taken as it is read.
 */
export default async function accountScreenshotPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal } = options;

  app.post(
    '/accounts/:sessionId/screenshot',
    {
      schema: {
        summary:
          "Admins only: a screenshot of the account's WhatsApp Web page as its host sees it now (PNG; SVG for the simulated engine), never stored",
        tags: ['accounts'],
        params: AccountParams,
        response: {
          200: {
            description: 'The page',
            content: Object.fromEntries(['image/png', 'image/svg+xml'].map((type) => [type, { schema: image }])),
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      const row = await accountFor(pool, request.params);
      const notRunning = (why: string) =>
        new HttpProblem(problem(409, 'session_not_running', 'Conflict', `account ${row.session_id} ${why}`));
      if (row.deleted_at !== null) throw notRunning('was deleted');
      const key = sessionKey(row.workspace_id, row.session_id);
      // The host that holds the session's lease runs its client: the database knows, without a query that waits for
      // the account's workflow to answer (behind a workflow task under way, or a replay).
      const hostTaskQueue = await sessionHost(pool, key);
      if (hostTaskQueue === null) throw notRunning('has no session running on a host now');

      const requestId = randomBytes(16).toString('hex');
      const reader = newOneReader();
      const handle = await withTemporalDeadline(temporal, () =>
        temporal.workflow.start(sessionScreenshot, {
          taskQueue: options.taskQueue,
          workflowId: `screenshot.${key}.${requestId}`,
          args: [
            {
              sessionKey: key,
              hostTaskQueue,
              requestId,
              readerKey: reader.publicKey,
            },
          ],
          // Within the request's own deadline, so the person asking hears why rather than a dropped connection.
          workflowExecutionTimeout: SCREENSHOT_WITHIN_MS,
          typedSearchAttributes: [{ key: workspaceIdKey, value: row.workspace_id }],
        }),
      );
      try {
        await temporal.connection.withDeadline(Date.now() + SCREENSHOT_WITHIN_MS + 2_000, () => handle.result());
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        // What the session is doing is the account's state, not a fault of this service: a session that left its
        // host while asked, or a page that does not answer (the host's watchdog restarts a hung one), is a conflict
        // to retry; only a host that failed to take it is a bad gateway.
        const failure = deepestFailure(error);
        if (failure.type === 'SessionNotOnHost') throw notRunning('left its host while the screenshot was asked for');
        if (failure.type === 'PageNotAnswering')
          throw new HttpProblem(
            problem(409, 'page_not_answering', 'Conflict', `account ${row.session_id}: ${failure.message}`),
          );
        // A bad gateway is the host's failure, not the account's: an operator reads which and why.
        request.log.warn(
          { dependency: 'session host', hostTaskQueue, failureType: failure.type, failure: failure.message },
          'a screenshot failed on the session host',
        );
        throw new HttpProblem(
          problem(
            502,
            'screenshot_failed',
            'Bad Gateway',
            `the session's host did not take a screenshot: ${failure.message}`,
          ),
        );
      }
      const taken = await takeScreenshot(pool, requestId, key);
      if (!taken) {
        request.log.warn({ dependency: 'session host', hostTaskQueue }, 'a screenshot the host took was not found');
        throw new HttpProblem(problem(502, 'screenshot_failed', 'Bad Gateway', 'the screenshot was lost'));
      }
      const bytes = reader.open(taken.sealed, screenshotSealContext(requestId, key));
      return reply
        .header('content-type', taken.content_type)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(bytes);
    },
  );
}

/** The innermost cause, under the workflow's and the activity's wrappers: the activity's own failure and its type. */
function deepestFailure(error: Error): { message: string; type: string | undefined } {
  let current: Error = error;
  while (current.cause instanceof Error) current = current.cause;
  return {
    message: current.message,
    type: current instanceof ApplicationFailure ? (current.type ?? undefined) : undefined,
  };
}

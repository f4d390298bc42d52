import { WorkflowNotFoundError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { makePrimary } from '../../db/account-lifecycle.js';
import { AccountConflictError, type AccountRow } from '../../db/accounts.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { sessionKey } from '../../domain/session-key.js';
import { logoutAccountSignal, restartAccountSignal, signalAccount, type Addressed } from '../../workflows/messages.js';
import { accountFor } from '../account-access.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { withTemporalDeadline } from '../dependency-outage.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { HttpProblem, problem } from '../problem.js';
import { AccountParams, CommandAccepted, problemResponses } from '../schemas.js';

/** What a backend asks of a linked account: be the workspace's primary, log out, restart from its saved login. */
export default async function accountActionsPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal } = options;
  const handle = (row: AccountRow) => temporal.workflow.getHandle(accountWorkflowId(row.workspace_id, row.session_id));

  app.post(
    '/accounts/:sessionId/primary',
    {
      schema: {
        summary: "Make a connected account the workspace's primary",
        tags: ['accounts'],
        params: AccountParams,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      try {
        const change = await makePrimary(pool, sessionKey(row.workspace_id, row.session_id));
        return toAccountView(change.row);
      } catch (error) {
        if (error instanceof AccountConflictError)
          throw new HttpProblem(problem(409, 'not_connected', 'Conflict', error.message));
        throw error;
      }
    },
  );

  const command = (action: 'logout' | 'restart', summary: string, signal: SignalDefinition<[Addressed]>) => {
    app.post(
      `/accounts/:sessionId/${action}`,
      {
        schema: {
          summary,
          tags: ['accounts'],
          params: AccountParams,
          response: { 202: CommandAccepted, ...problemResponses },
        },
      },
      async (request, reply) => {
        const row = await accountFor(pool, request.params);
        try {
          await withTemporalDeadline(temporal, () => signalAccount(handle(row), signal));
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          throw new HttpProblem(
            problem(
              409,
              'account_ended',
              'Conflict',
              `the account has ended; it cannot ${action === 'logout' ? 'log out' : 'restart'}`,
            ),
          );
        }
        return reply.code(202).send({ accepted: true, sessionId: row.session_id });
      },
    );
  };
  command('logout', 'Log an account out (the phone sees the device unlinked)', logoutAccountSignal);
  command('restart', "Restart an account's client with its saved login (no new scan)", restartAccountSignal);
}

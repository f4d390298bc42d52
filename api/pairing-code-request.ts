import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import type { FastifyReply } from 'fastify';
import type { AccountRow } from '../db/accounts.js';
import { accountWorkflowId } from '../workflows/ids.js';
import { requestPairingCodeUpdate } from '../workflows/messages.js';
import { AccountUpdateUnavailable, executeAccountUpdate } from './account-update.js';
import { HttpProblem, problem } from './problem.js';

/**
 * Asks the account's workflow to switch a not-yet-linked session to a pairing code for this phone number, and answers
 * the code, or the problem a caller reads: the account ended, refused (already linked, a number WhatsApp rejects), or
 * busy for a moment. The API's route and the onboarding page ask the same way.
 */
export async function requestPairingCode(
  temporal: Client,
  row: AccountRow,
  phoneNumber: string,
  reply: FastifyReply,
): Promise<{ code: string }> {
  try {
    const account = temporal.workflow.getHandle(accountWorkflowId(row.workspace_id, row.session_id));
    return await executeAccountUpdate(account, requestPairingCodeUpdate, [
      { workflowId: account.workflowId, phoneNumber },
    ]);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw new HttpProblem(problem(409, 'account_ended', 'Conflict', 'the account has ended'));
    if (error instanceof WorkflowUpdateFailedError) {
      throw new HttpProblem(
        problem(
          409,
          'pairing_code_refused',
          'Conflict',
          error.cause?.message ?? 'the account cannot switch to a pairing code now',
        ),
      );
    }
    if (error instanceof AccountUpdateUnavailable || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      void reply.header('retry-after', '1');
      throw new HttpProblem(
        problem(503, 'account_busy', 'Service Unavailable', 'the account did not take the request in time; try again'),
      );
    }
    throw error;
  }
}

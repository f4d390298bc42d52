import { randomUUID } from 'node:crypto';
import { isGrpcServiceError, ServiceError, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';

/**
 * gRPC codes with which the server gives an update back unrun: FAILED_PRECONDITION when the workflow task that carried
 * it failed (a workflow that tried to finish while a signal arrived is sent a new task), ABORTED and UNAVAILABLE when
 * the server dropped it in flight. None of them means the account refused.
 */
const UPDATE_GIVEN_BACK = new Set([9, 10, 14]);
const RETRY_DELAYS_MS = [50, 200, 500];

export class AccountUpdateUnavailable extends Error {}

/**
 * Runs an update, sending it again while the server gives it back unrun. One update id for every attempt: should an
 * attempt have run after all, the server answers the next one with that attempt's outcome, so nothing runs twice.
 */
export async function executeAccountUpdate<Ret, Args extends [unknown, ...unknown[]]>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
): Promise<Ret> {
  const updateId = randomUUID();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await handle.executeUpdate(update, { args, updateId });
    } catch (error) {
      if (!givenBackUnrun(error)) throw error;
      const delayMs = RETRY_DELAYS_MS[attempt];
      if (delayMs === undefined)
        throw new AccountUpdateUnavailable('the account did not take the request; try again', { cause: error });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function givenBackUnrun(error: unknown): boolean {
  if (!(error instanceof ServiceError)) return false;
  const cause = error.cause;
  return isGrpcServiceError(cause) && UPDATE_GIVEN_BACK.has(cause.code);
}

import { allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { workerSettings } from './account-activities.js';
import { AccountMachine } from './account-machine.js';
import { newAccountView, type AccountConnectionInput, type AccountConnectionState } from './account-state.js';
import {
  accountStateQuery,
  deleteAccountSignal,
  engineEventSignal,
  hostGoneSignal,
  logoutAccountSignal,
  requestPairingCodeUpdate,
  restartAccountSignal,
  supersededSignal,
} from './messages.js';
import {
  assertAddressed,
  checkedInput,
  isAbsentOr,
  isCommand,
  isFields,
  isHostGone,
  isName,
  isSessionEvent,
  isSuperseded,
  setAddressedSignalHandler,
  type Fields,
} from './payload-checks.js';

export type { AccountConnectionInput, AccountConnectionState } from './account-state.js';

/**
 * One durable workflow per WhatsApp account, the only writer of its status. Engine events arrive as signals, API
 * commands as signals and an update; the account's state machine handles them one at a time until the account ends.
 * Every signal and the update name this workflow (workflows/messages.ts): any other is dropped. Each run reads its
 * timings from the worker first (domain/account-timings.ts); the input says only which account this is.
 */
export async function accountConnection(input: AccountConnectionInput): Promise<AccountConnectionState> {
  const checked = checkedInput<AccountConnectionInput>(input, isAccountConnectionInput, 'accountConnection');
  // Answered from the start: a query may come while the run still reads its settings.
  const before = checked.carried?.state.account ?? newAccountView(checked);
  let machine: AccountMachine | null = null;
  setHandler(accountStateQuery, () => machine?.state ?? before);
  // Before the first await too: an update with no handler at the end of an activation is refused, and a request may
  // come with the start itself. It waits for the account; only the number is checked before the account exists.
  setHandler(
    requestPairingCodeUpdate,
    async ({ phoneNumber }) => {
      // Once the account exists, asked in the same step as the update arrives (as the loop's end expects): an await
      // here would let the loop end first and leave the request unanswered.
      if (machine === null) await condition(() => machine !== null);
      return (machine as AccountMachine).requestPairingCode(phoneNumber);
    },
    {
      validator: (request: unknown) => {
        assertAddressed(requestPairingCodeUpdate.name, request, isCommand);
        if (machine) machine.validatePairingRequest(request.phoneNumber);
        else AccountMachine.validatePairingNumber(request.phoneNumber);
      },
    },
  );
  const { workspaceId, sessionId } = checked;
  const account = new AccountMachine(checked, await workerSettings.accountSettings({ workspaceId, sessionId }));
  machine = account;

  setAddressedSignalHandler(engineEventSignal, isSessionEvent, ({ workflowId: _addressee, ...event }) =>
    account.receiveEvent(event),
  );
  setAddressedSignalHandler(deleteAccountSignal, isCommand, () => account.receiveCommand({ type: 'delete' }));
  setAddressedSignalHandler(logoutAccountSignal, isCommand, () => account.receiveCommand({ type: 'logout' }));
  setAddressedSignalHandler(restartAccountSignal, isCommand, () => account.receiveCommand({ type: 'restart' }));
  setAddressedSignalHandler(hostGoneSignal, isHostGone, ({ hostTaskQueue }) => account.receiveHostGone(hostTaskQueue));
  setAddressedSignalHandler(supersededSignal, isSuperseded, ({ bySessionId }) =>
    account.receiveCommand({ type: 'superseded', bySessionId }),
  );

  await account.begin();
  while (!account.state.ended) {
    await account.step();
    if (account.wantsContinueAsNew()) {
      // A pairing-code request that arrives meanwhile waits for the loop: answer it first, continue later.
      await condition(() => allHandlersFinished() || account.hasQueuedRequests());
      if (!account.hasQueuedRequests()) {
        const pairingPhoneNumber = checked.pairingPhoneNumber ?? null;
        await continueAsNew<typeof accountConnection>({
          sessionId,
          workspaceId,
          pairingPhoneNumber,
          carried: account.carryOver(),
        });
      }
    }
  }
  account.refuseQueuedRequests();
  await condition(allHandlersFinished);
  await account.finishQueuedDeletes();
  return account.state;
}

/** The input's fields the workflow reads; what a run carries over to the next is its own, written by this code. */
function isAccountConnectionInput(fields: Fields): boolean {
  return (
    isName(fields.sessionId) &&
    isName(fields.workspaceId) &&
    (fields.pairingPhoneNumber === null || isAbsentOr(fields.pairingPhoneNumber, isName)) &&
    isAbsentOr(fields.carried, isFields)
  );
}

import { allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { AccountMachine } from './account-machine.js';
import type { AccountConnectionInput, AccountConnectionState } from './account-state.js';
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

export type { AccountConnectionInput, AccountConnectionState } from './account-state.js';

/**
 * One durable workflow per WhatsApp account, the only writer of its status. Engine events arrive as signals, API
 * commands as signals and an update; the account's state machine handles them one at a time until the account ends.
 */
export async function accountConnection(input: AccountConnectionInput): Promise<AccountConnectionState> {
  const account = new AccountMachine(input);

  setHandler(accountStateQuery, () => account.state);
  setHandler(engineEventSignal, (event) => account.receiveEvent(event));
  setHandler(deleteAccountSignal, () => account.receiveCommand({ type: 'delete' }));
  setHandler(logoutAccountSignal, () => account.receiveCommand({ type: 'logout' }));
  setHandler(restartAccountSignal, () => account.receiveCommand({ type: 'restart' }));
  setHandler(hostGoneSignal, ({ hostTaskQueue }) => account.receiveHostGone(hostTaskQueue));
  setHandler(supersededSignal, ({ bySessionId }) => account.receiveCommand({ type: 'superseded', bySessionId }));
  setHandler(requestPairingCodeUpdate, ({ phoneNumber }) => account.requestPairingCode(phoneNumber), {
    validator: (request: { phoneNumber: unknown }) => account.validatePairingRequest(request.phoneNumber),
  });

  await account.begin();
  while (!account.state.ended) {
    await account.step();
    if (account.wantsContinueAsNew()) {
      // A pairing-code request that arrives meanwhile waits for the loop: answer it first, continue later.
      await condition(() => allHandlersFinished() || account.hasQueuedRequests());
      if (!account.hasQueuedRequests()) {
        await continueAsNew<typeof accountConnection>({ ...input, carried: account.carryOver() });
      }
    }
  }
  account.refuseQueuedRequests();
  await condition(allHandlersFinished);
  return account.state;
}

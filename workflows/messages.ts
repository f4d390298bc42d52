import {
  defineQuery,
  defineSignal,
  defineUpdate,
  type ExternalWorkflowHandle,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { SessionEvent } from '../engine/types.js';
import type { AccountConnectionState } from './account-state.js';

/**
 * Every message an account workflow takes, defined once at module level and shared by the workflow, the worker
 * (engine events) and the API (commands).
 */

/**
 * The argument of every message that changes an account names the workflow it is meant for, and the workflow refuses
 * any other (workflows/payload-checks.ts). Payloads are encrypted with the service's key, so nobody without it can
 * write one; naming the workflow makes one copied out of an account's history worthless in every other account.
 */
export type Addressed<Payload extends object = object> = Payload & { readonly workflowId: string };

/** An engine event of the account's session, as its host reports it. */
export const engineEventSignal = defineSignal<[Addressed<SessionEvent>]>('engineEvent');
export const deleteAccountSignal = defineSignal<[Addressed]>('deleteAccount');
export const logoutAccountSignal = defineSignal<[Addressed]>('logoutAccount');
export const restartAccountSignal = defineSignal<[Addressed]>('restartAccount');
/** Sent by another account's activation that took over this account's phone number. */
export const supersededSignal = defineSignal<[Addressed<{ bySessionId: string }>]>('superseded');

/**
 * Sent by a live host when the host named here stopped renewing its session leases (dead, frozen, cut off): the
 * session it ran is gone with it. Ignored unless that host runs the account's current session.
 */
export const hostGoneSignal = defineSignal<[Addressed<{ hostTaskQueue: string }>]>('hostGone');

export const accountStateQuery = defineQuery<AccountConnectionState>('accountState');
export const requestPairingCodeUpdate = defineUpdate<{ code: string }, [Addressed<{ phoneNumber: string }>]>(
  'requestPairingCode',
);

/** What signals one workflow: a client's workflow handle, or an external workflow's handle inside a workflow. */
export type SignalTarget = Pick<ExternalWorkflowHandle, 'workflowId' | 'signal'>;

/** A signal's argument without the address, which `signalAccount` adds. */
type Unaddressed<Argument> = Omit<Argument, 'workflowId'>;

/**
 * How the service signals an account: the argument is addressed to the workflow the handle names, so a sender cannot
 * leave the address out or get it wrong. Signals that carry nothing else take no payload.
 */
export function signalAccount<Argument extends Addressed>(
  target: SignalTarget,
  signal: SignalDefinition<[Argument]>,
  ...payload: keyof Unaddressed<Argument> extends never ? [] : [Unaddressed<Argument>]
): Promise<void> {
  // The spread of the payload and the address make the argument; TypeScript cannot follow Omit back to it.
  const argument = { ...payload[0], workflowId: target.workflowId } as Argument;
  return target.signal(signal, argument);
}

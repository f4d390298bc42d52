import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SessionEvent } from '../engine/types.js';
import type { AccountConnectionState } from './account-state.js';

/**
 * Every message an account workflow takes, defined once at module level and shared by the workflow, the worker
 * (engine events) and the API (commands).
 */

/** An engine event of the account's session, as its host reports it. */
export const engineEventSignal = defineSignal<[SessionEvent]>('engineEvent');
export const deleteAccountSignal = defineSignal('deleteAccount');
export const logoutAccountSignal = defineSignal('logoutAccount');
export const restartAccountSignal = defineSignal('restartAccount');
/** Sent by another account's activation that took over this account's phone number. */
export const supersededSignal = defineSignal<[{ bySessionId: string }]>('superseded');

/**
 * Sent by a live host when the host named here stopped renewing its session leases (dead, frozen, cut off): the
 * session it ran is gone with it. Ignored unless that host runs the account's current session.
 */
export const hostGoneSignal = defineSignal<[{ hostTaskQueue: string }]>('hostGone');

export const accountStateQuery = defineQuery<AccountConnectionState>('accountState');
export const requestPairingCodeUpdate = defineUpdate<{ code: string }, [{ phoneNumber: string }]>('requestPairingCode');

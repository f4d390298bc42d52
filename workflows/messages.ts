import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EngineEvent } from '../engine/types.js';
import type { AccountConnectionState } from './account-state.js';

/**
 * Every message an account workflow takes, defined once at module level and shared by the workflow, the worker
 * (engine events) and the API (commands).
 */

/** An engine event, tagged with the engine generation that produced it so a stale client is never believed. */
export interface EngineEventEnvelope {
  generation: number;
  event: EngineEvent;
  /** When the engine emitted it (worker clock, ms), so delivery latency can be measured end to end. */
  emittedAt?: number;
  /**
   * On `ready`: the own phone number when the host could read it at once, so the workflow needs no extraction round
   * trip. Absent when WhatsApp had not provided it yet (the workflow extracts it with retries) and in old histories.
   */
  ownPhone?: { phoneNumber: string; pushName: string | null; readInMs: number };
}

export const engineEventSignal = defineSignal<[EngineEventEnvelope]>('engineEvent');
export const deleteAccountSignal = defineSignal<[{ reason?: string }]>('deleteAccount');
export const logoutAccountSignal = defineSignal<[{ reason?: string }]>('logoutAccount');
export const restartAccountSignal = defineSignal<[{ reason?: string }]>('restartAccount');
/** Sent by another account's activation that took over this account's phone number. */
export const supersededSignal = defineSignal<[{ bySessionId: string }]>('superseded');

export const accountStateQuery = defineQuery<AccountConnectionState>('accountState');
export const requestPairingCodeUpdate = defineUpdate<{ code: string }, [{ phoneNumber: string }]>('requestPairingCode');

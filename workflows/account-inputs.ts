import type { AccountSnapshot } from '../activities/account-store.js';
import type { AccountEventType } from '../domain/account-event-types.js';
import type { AccountStatus } from '../domain/account-status.js';
import type { AccountWait } from '../domain/account-wait.js';
import type { SessionEvent } from '../engine/types.js';
import type { DeadlineName } from './deadlines.js';
import type { LoggedInIdentity } from '../engine/types.js';

/**
 * The vocabulary of the account workflow: what happens to an account (inputs) and what it does about it (effects).
 * `transition` (workflows/account-transitions.ts) turns one input into a new state and a list of effects; the machine
 * carries the effects out in order, and the outcome of those that have one comes back as the next input.
 */

export type Command =
  { type: 'delete' } | { type: 'logout' } | { type: 'restart' } | { type: 'superseded'; bySessionId: string };

/** Who logged in: what the activation keeps (engine/types.ts). */
export type PhoneIdentity = LoggedInIdentity;

/** What an activation answers: the row, and the older accounts of the workspace that gave up the phone number. */
export type ActivationResult = AccountSnapshot & { releasedSessionIds: string[] };

/** What a pairing-code requester reads when the session is between hosts, or its host could not answer. */
export const PAIRING_RETRY_LATER = 'the session is between hosts; try again in a moment';

export type PairingOutcome = { code: string } | { refusal: string; type: string };

/** Something that happened to the account, or the outcome of one of its effects. */
export type AccountInput =
  /** The first run begins: the row is created. */
  | { type: 'started' }
  /** A continued run begins: it takes the session over on the same host. */
  | { type: 'resumed' }
  | { type: 'command'; command: Command }
  /** Another host saw this host's leases lapse. */
  | { type: 'hostGone'; hostTaskQueue: string }
  /** The watch of a session generation ended: the host stopped the client itself, or its heartbeat failed. */
  | { type: 'watchEnded'; taskQueue: string; generation: number; failed: boolean }
  | { type: 'placementAnswered'; generation: number; taskQueue: string }
  | { type: 'placementFailed'; generation: number; reason: string }
  | { type: 'pairingRequested'; requestId: number; phoneNumber: string }
  | { type: 'engineEvent'; event: SessionEvent }
  | { type: 'deadline'; name: DeadlineName }
  /** No session, no host asked for, no reconnect waited for: a new generation of the session starts. */
  | { type: 'hostNeeded' }
  // ---- Outcomes of effects.
  | { type: 'statusWritten'; write: StatusWrite; snapshot: AccountSnapshot }
  | { type: 'endWritten'; write: EndWrite; snapshot: AccountSnapshot }
  | { type: 'activated'; identity: PhoneIdentity; result: ActivationResult }
  | { type: 'engineStarted'; taskQueue: string; generation: number; resuming: boolean }
  | { type: 'engineStartFailed'; reason: string; resuming: boolean }
  | { type: 'phoneRead'; identity: PhoneIdentity; readInMs: number }
  | { type: 'phoneUnreadable'; reason: string }
  | { type: 'pairingCodeReceived'; requestId: number; code: string };

/** Row writes name themselves by kind and number (AccountWorkflowState.writeCounts); the machine adds the workflow id. */
interface Named {
  dedupeName: string;
}
export interface StatusWrite extends Named {
  status: AccountStatus;
  eventType: AccountEventType;
  reason: string | null;
}
export interface EndWrite extends Named {
  status: 'disconnected' | 'failed';
  eventType: AccountEventType;
  reason: string;
  softDelete: boolean;
  forgetLogin: boolean;
}
export interface CodeWrite extends Named {
  kind: 'qr' | 'pairing_code';
  value: string;
  timings: Record<string, number>;
}
export interface EventWrite extends Named {
  eventType: AccountEventType;
  data: Record<string, unknown>;
  wait?: AccountWait;
}
export interface ActivationWrite extends Named {
  identity: PhoneIdentity;
  timings: Record<string, number>;
}

/** Something the account does outside its own state; the effects with an outcome report it as an input. */
export type AccountEffect =
  | { type: 'writeStatus'; write: StatusWrite }
  | { type: 'writeEnd'; write: EndWrite }
  | { type: 'writeCode'; write: CodeWrite }
  | { type: 'writeEvent'; write: EventWrite }
  | { type: 'activate'; write: ActivationWrite }
  | { type: 'askForHost'; generation: number }
  | { type: 'stopAskingForHost' }
  | { type: 'startEngine'; taskQueue: string; generation: number; resuming: boolean }
  | { type: 'stopEngine'; taskQueue: string; generation: number; logout: boolean; forgetLogin: boolean }
  | { type: 'extractPhone'; taskQueue: string; generation: number }
  | { type: 'requestPairingCode'; requestId: number; taskQueue: string; generation: number; phoneNumber: string }
  | { type: 'answerPairing'; requestId: number; outcome: PairingOutcome }
  /** Tells an older account of the workspace that this one took its phone number. */
  | { type: 'tellSuperseded'; sessionId: string }
  /** The host search attribute: "everything on this host". */
  | { type: 'showHost'; taskQueue: string }
  | { type: 'warn'; message: string };

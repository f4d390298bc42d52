import type { SessionEvent } from '../engine/types.js';
import type { AccountInput, Command } from './account-inputs.js';
import type { AccountWorkflowState } from './account-state.js';
import { firstDueDeadline } from './deadlines.js';

type InputOf<Type extends AccountInput['type']> = Extract<AccountInput, { type: Type }>;

/**
 * What arrived and waits for the account's loop: the handlers and the session's reports only add to these queues,
 * the loop alone takes from them.
 */
export interface Inbox {
  commands: Command[];
  /** A host gone, a watch ended: the session may have to move. */
  hostReports: Array<InputOf<'hostGone'> | InputOf<'watchEnded'>>;
  placementAnswers: Array<InputOf<'placementAnswered'> | InputOf<'placementFailed'>>;
  pairingRequests: Array<InputOf<'pairingRequested'>>;
  events: SessionEvent[];
}

export function newInbox(pendingEvents: SessionEvent[] = []): Inbox {
  return { commands: [], hostReports: [], placementAnswers: [], pairingRequests: [], events: [...pendingEvents] };
}

export function hasMail(inbox: Inbox): boolean {
  return (
    inbox.commands.length > 0 ||
    inbox.hostReports.length > 0 ||
    inbox.placementAnswers.length > 0 ||
    inbox.pairingRequests.length > 0 ||
    inbox.events.length > 0
  );
}

/**
 * The next input for the account's loop, taken out of the inbox, or null when nothing is due.
 *
 * This order decides replay. Several inputs may be waiting in one workflow task (signals delivered together, a
 * deadline due beside them); which comes first decides what the account writes and starts, and so its history.
 * Reordering these lines changes what a running workflow does on replay, an incompatible change
 * (docs/workflow-releases.md). Why this order: a session that needs a host asks for one before anything else; an API
 * command (delete, logout) comes before everything the session reports; what the session's host said comes before
 * the news that the host is lost (a `ready` it sent was true, and a worker that died before its workflow task
 * completed may already have written it: the next one must take the same path, not move an account it thinks is not
 * connected yet). The price: an event that calls its host (a phone extraction, a stop) waits for a lost host until
 * `hostScheduleToStartMs` before the loss is handled. A command still comes first even then: a restart or logout in
 * that window acts on the account as this workflow last saw it. A lost host before a new one's answer; pairing-code
 * requests (someone waits on them) after the host is known to be there or not; deadlines last, in the order of
 * DEADLINE_NAMES (workflows/deadlines.ts), so an event that arrived in time wins over a deadline that fell in the
 * same task.
 */
export function takeNextInput(state: AccountWorkflowState, inbox: Inbox, now: number): AccountInput | null {
  if (needsHost(state)) return { type: 'hostNeeded' };
  const command = inbox.commands.shift();
  if (command) return { type: 'command', command };
  const event = inbox.events.shift();
  if (event) return { type: 'engineEvent', event };
  const taken = inbox.hostReports.shift() ?? inbox.placementAnswers.shift() ?? inbox.pairingRequests.shift();
  if (taken) return taken;
  const due = firstDueDeadline(state.deadlines, now);
  return due ? { type: 'deadline', name: due } : null;
}

/** No session, no host asked for, no reconnect waited for. */
function needsHost(state: AccountWorkflowState): boolean {
  return state.host.phase === 'none' && state.deadlines.reconnectAt === undefined && !state.account.ended;
}

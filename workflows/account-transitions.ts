import { PAIRING_RETRY_LATER, type AccountEffect, type AccountInput } from './account-inputs.js';
import { command, deadline, engineEvent } from './account-reactions.js';
import { copyState, type AccountWorkflowState } from './account-state.js';
import { Turn, type TransitionContext } from './account-turn.js';
import { msUntilDeadline } from './deadlines.js';

export type { TransitionContext } from './account-turn.js';

/** The failure reason of a host-queue activity no process picked up within hostScheduleToStartMs. */
export const HOST_NEVER_ANSWERED = 'timeout_SCHEDULE_TO_START';

/** Failures that say nothing of the session, only that its host did not answer: it is lost, dead or out of reach. */
const HOST_OUT_OF_REACH = new Set([HOST_NEVER_ANSWERED, 'timeout_HEARTBEAT']);
/** The host took the work and did not answer in time: dead since, or its page hung. */
const HOST_DID_NOT_FINISH = 'timeout_START_TO_CLOSE';

/**
 * What the account does with each thing that happens to it: the next state and the effects to carry out, in order.
 * A pure function of its arguments (workflow time and randomness come in `context`), so it is tested without a
 * server; the account machine (workflows/account-machine.ts) owns the state and is the only caller.
 */
export function transition(
  state: AccountWorkflowState,
  input: AccountInput,
  context: TransitionContext,
): { state: AccountWorkflowState; effects: AccountEffect[] } {
  const turn = new Turn(copyState(state), context);
  decide(turn, input);
  // The QR clock runs only while the account shows a QR.
  if (turn.account.status !== 'qr_scanning') turn.clearDeadlines('qrExpiry');
  return { state: turn.state, effects: turn.effects };
}

function decide(turn: Turn, input: AccountInput): void {
  const { state, account, now } = turn;
  const host = state.host;
  switch (input.type) {
    case 'started':
      turn.setDeadline('qrExpiry', state.startedAt + turn.context.timings.qrExpiryMs);
      return turn.moveTo('qr_scanning', 'session_created');
    case 'resumed':
      if (host.phase === 'attached' && !account.ended) {
        turn.do({ type: 'startEngine', taskQueue: host.taskQueue, generation: host.generation, resuming: true });
      }
      return;
    case 'command':
      return command(turn, input.command);
    case 'hostGone':
      if (host.phase === 'attached' && host.taskQueue === input.hostTaskQueue) turn.loseHost(false);
      return;
    case 'watchEnded':
      if (host.phase === 'attached' && host.taskQueue === input.taskQueue && host.generation === input.generation) {
        turn.loseHost(input.failed);
      }
      return;
    case 'hostNeeded':
      return askForHost(turn);
    case 'placementAnswered':
      if (host.phase !== 'placing' || host.generation !== input.generation) return;
      turn.stopWaitingForHost();
      state.host = { phase: 'none' };
      turn.do({ type: 'showHost', taskQueue: input.taskQueue });
      noteEngineStarting(turn, input.taskQueue);
      turn.do({ type: 'startEngine', taskQueue: input.taskQueue, generation: input.generation, resuming: false });
      return;
    case 'placementFailed':
      if (host.phase !== 'placing' || host.generation !== input.generation) return;
      turn.stopWaitingForHost();
      state.host = { phase: 'none' };
      return engineStartFailed(turn, input.reason);
    case 'engineStarted':
      state.host = { phase: 'attached', taskQueue: input.taskQueue, generation: input.generation };
      account.hostTaskQueue = input.taskQueue;
      if (!input.resuming && (account.status === 'disconnected' || state.quietMove)) {
        turn.setDeadline('reconnectBy', now + turn.context.timings.readyTimeoutMs);
      }
      return;
    case 'engineStartFailed':
      // A continued run could not take its session over: it is lost, and comes up again elsewhere. A host that did
      // not answer may still be alive and running the client (cut from Temporal only): it is asked to stop it.
      if (input.resuming)
        return turn.loseHost(HOST_OUT_OF_REACH.has(input.reason) || input.reason === HOST_DID_NOT_FINISH);
      state.host = { phase: 'none' };
      return engineStartFailed(turn, input.reason);
    case 'pairingRequested':
      return pairingRequested(turn, input.requestId, input.phoneNumber);
    case 'pairingCodeReceived':
      turn.recordCode('pairing_code', input.code);
      turn.do({ type: 'answerPairing', requestId: input.requestId, outcome: { code: input.code } });
      return;
    case 'engineEvent':
      if (input.event.generation === account.generation && host.phase === 'attached') engineEvent(turn, input.event);
      return;
    case 'deadline':
      turn.clearDeadlines(input.name);
      return deadline(turn, input.name);
    case 'statusWritten':
      account.failureReason = input.write.reason;
      return turn.adoptRowState(input.snapshot);
    case 'endWritten':
      account.failureReason = input.write.reason;
      turn.adoptRowState(input.snapshot);
      account.ended = true;
      return;
    case 'phoneRead':
      return turn.connect(input.identity, input.readInMs);
    case 'phoneUnreadable':
      // The host no longer has the session, or did not answer (dead, or alive but out of Temporal's reach: then it
      // is asked to stop its client): the session is lost, not the phone number. It comes up again elsewhere from
      // the saved login.
      if (input.reason === 'SessionNotOnHost') return turn.loseHost(false);
      if (HOST_OUT_OF_REACH.has(input.reason)) return turn.loseHost(true);
      // A page that keeps hanging would move the session for ever: each such move is a reconnect attempt, bounded.
      if (input.reason === HOST_DID_NOT_FINISH) {
        turn.stopSession();
        return turn.scheduleReconnect('phone_extraction_timeout');
      }
      return turn.finish('phone_extraction_failed', input.reason);
    case 'activated':
      return activated(turn, input);
  }
}

/**
 * A new generation of the engine session asks for a host with a free seat. The QR clock stops while it waits: an
 * account never expires for the lack of room. Events of older generations are ignored from now on.
 */
function askForHost(turn: Turn): void {
  const { state, now } = turn;
  state.account.generation += 1;
  state.hostAskedAt = now;
  state.qrMsLeftWhileWaiting = msUntilDeadline(state.deadlines, 'qrExpiry', now);
  turn.clearDeadlines('qrExpiry');
  turn.setDeadline('hostWaitNotice', now + turn.context.timings.hostWaitNoticeMs);
  state.host = { phase: 'placing', generation: state.account.generation };
  turn.do({ type: 'askForHost', generation: state.account.generation });
}

function engineStartFailed(turn: Turn, reason: string): void {
  turn.do({ type: 'warn', message: `engine session did not start: ${reason}` });
  turn.scheduleReconnect(reason);
}

/** A host took the session: the account says which attempt this is, and why the one before failed. */
function noteEngineStarting(turn: Turn, hostTaskQueue: string): void {
  // A quiet move's row says `connected` and shows no wait: the start shows only if the move stops being quiet.
  if (turn.state.quietMove) return;
  const attempt = turn.nextAttempt();
  const lastFailure = turn.account.lastFailure ?? null;
  turn.recordEvent(
    'engine_starting',
    { ...attempt, host: hostTaskQueue, generation: turn.account.generation, lastFailure },
    { kind: 'engine_starting', ...attempt, since: turn.now, lastFailure },
  );
}

/** The loop's turn at a pairing-code request: the state may have moved on since the validator accepted it. */
function pairingRequested(turn: Turn, requestId: number, phoneNumber: string): void {
  const host = turn.state.host;
  if (!takesPairingRequests(turn.state)) {
    turn.do({
      type: 'answerPairing',
      requestId,
      outcome: { refusal: pairingRefusal(turn.state), type: 'NotScanning' },
    });
  } else if (host.phase !== 'attached') {
    turn.do({
      type: 'answerPairing',
      requestId,
      outcome: { refusal: PAIRING_RETRY_LATER, type: 'SessionUnavailable' },
    });
  } else {
    const { taskQueue, generation } = host;
    turn.do({ type: 'requestPairingCode', requestId, taskQueue, generation, phoneNumber });
  }
}

function activated(turn: Turn, { identity, result }: Extract<AccountInput, { type: 'activated' }>): void {
  if (result.status === 'connected') {
    Object.assign(turn.account, { ...identity, failureReason: null, reconnectAttempts: 0, lastFailure: null });
  }
  turn.adoptRowState(result);
  if (result.status === 'connected') turn.clearDeadlines('reconnectBy');
  if (turn.account.ended) return turn.stopSession({ logout: true, forgetLogin: false });
  // The older accounts' workflows stop their clients; their rows are already released (a phone moves only within
  // its workspace).
  for (const sessionId of result.releasedSessionIds) turn.do({ type: 'tellSuperseded', sessionId });
}

export function takesPairingRequests(state: AccountWorkflowState): boolean {
  return state.account.status === 'qr_scanning' && !state.account.ended;
}

export function pairingRefusal(state: AccountWorkflowState): string {
  return `pairing codes are for accounts not linked yet; this one is ${state.account.status}`;
}

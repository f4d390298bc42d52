import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import type { AccountSnapshot } from '../../activities/account-store.js';
import type { SessionEvent } from '../../engine/types.js';
import { newInbox, takeNextInput } from '../../workflows/account-inbox.js';
import type { AccountEffect, AccountInput, PhoneIdentity } from '../../workflows/account-inputs.js';
import { newAccountState, type AccountWorkflowState } from '../../workflows/account-state.js';
import { DEFAULT_TIMINGS } from '../../domain/account-timings.js';
import { transition, type TransitionContext } from '../../workflows/account-transitions.js';
import { lastAttemptReason } from '../../workflows/account-activities.js';

/**
 * The account workflow's decisions as a pure function: no Temporal server, no database. Each test feeds inputs to
 * `transition` and reads the state and the effects it asks for, as the account machine would carry them out.
 */
const NOW = 1_000_000;
const context = (now = NOW, random = 0, timings = DEFAULT_TIMINGS): TransitionContext => ({ now, random, timings });
const fresh = () => newAccountState({ sessionId: 'sess-1', workspaceId: 'ws-1' }, NOW);
/** Timings of a service that shows every move between hosts at once. */
const MOVES_SHOWN_AT_ONCE = { ...DEFAULT_TIMINGS, hostMoveQuietMs: 0 };

function run(state: AccountWorkflowState, inputs: AccountInput[], now = NOW, timings = DEFAULT_TIMINGS) {
  const effects: AccountEffect[] = [];
  for (const input of inputs) {
    const next = transition(state, input, context(now, 0, timings));
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const snapshot = (status: AccountSnapshot['status'], extra: Partial<AccountSnapshot> = {}): AccountSnapshot => ({
  applied: true,
  status,
  isPrimary: status === 'connected',
  phoneNumber: null,
  deleted: false,
  ...extra,
});

const event = (generation: number, engineEvent: SessionEvent['event']): AccountInput => ({
  type: 'engineEvent',
  event: { generation, event: engineEvent, emittedAt: NOW },
});

/** A fresh account whose session runs on `host-a` (generation 1), showing a QR. */
function scanning() {
  return run(fresh(), [
    { type: 'started' },
    { type: 'hostNeeded' },
    { type: 'placementAnswered', generation: 1, taskQueue: 'host-a' },
    { type: 'engineStarted', taskQueue: 'host-a', generation: 1, resuming: false },
  ]).state;
}

/** `ready` came without the phone number: the account waits for its host to read it. */
function awaitingPhone() {
  return run(scanning(), [event(1, { type: 'authenticated' }), event(1, { type: 'ready' })]).state;
}

/** The account connected with a phone number on `host-a`. */
function connected() {
  const identity = { phoneNumber: '62811801641', pushName: null, lid: null, platform: null };
  return run(scanning(), [
    { type: 'activated', identity, result: { ...snapshot('connected'), releasedSessionIds: [] } },
  ]).state;
}

const dedupeNames = (effects: AccountEffect[]) =>
  effects.flatMap((effect) => ('write' in effect ? [effect.write.dedupeName] : []));

describe('account transitions (a pure function, no server)', () => {
  it('never changes the state it is given', () => {
    const before = scanning();
    const copy = structuredClone(before);
    transition(before, { type: 'command', command: { type: 'delete' } }, context());
    transition(before, event(1, { type: 'authenticated' }), context());
    assert.deepEqual(before, copy);
  });

  it('a new account creates its row and starts its QR clock', () => {
    const { state, effects } = run(fresh(), [{ type: 'started' }]);
    assert.equal(state.deadlines.qrExpiry, NOW + DEFAULT_TIMINGS.qrExpiryMs);
    assert.deepEqual(effects, [
      {
        type: 'writeStatus',
        write: {
          status: 'qr_scanning',
          eventType: 'session_created',
          reason: null,
          dedupeName: 'status:session_created:1',
        },
      },
    ]);
  });

  it('asks for a host with a new generation, the QR clock stopped until a host answers', () => {
    const started = run(fresh(), [{ type: 'started' }]).state;
    const asking = transition(started, { type: 'hostNeeded' }, context(NOW + 1_000));
    assert.equal(asking.state.account.generation, 1);
    assert.deepEqual(asking.state.host, { phase: 'placing', generation: 1 });
    assert.equal(asking.state.deadlines.qrExpiry, undefined);
    assert.equal(asking.state.deadlines.hostWaitNotice, NOW + 1_000 + DEFAULT_TIMINGS.hostWaitNoticeMs);
    assert.deepEqual(asking.effects, [{ type: 'askForHost', generation: 1 }]);

    // An answer for another generation (a request withdrawn) changes nothing.
    const stale = transition(asking.state, { type: 'placementAnswered', generation: 0, taskQueue: 'x' }, context());
    assert.deepEqual(stale, { state: asking.state, effects: [] });

    const answered = transition(
      asking.state,
      { type: 'placementAnswered', generation: 1, taskQueue: 'host-a' },
      context(NOW + 61_000),
    );
    assert.deepEqual(
      answered.effects.map((effect) => effect.type),
      ['showHost', 'writeEvent', 'startEngine'],
    );
    // The minute spent waiting for the host does not count against the QR window.
    assert.equal(answered.state.deadlines.qrExpiry, NOW + 61_000 + DEFAULT_TIMINGS.qrExpiryMs - 1_000);
    assert.equal(answered.state.deadlines.hostWaitNotice, undefined);
  });

  it('names each write by its kind and its number within the kind, so one write added never renames another', () => {
    const { effects } = run(scanning(), [
      event(1, { type: 'qr', qr: 'QR-1' }),
      event(1, { type: 'authenticated' }),
      event(1, { type: 'qr', qr: 'QR-2' }),
    ]);
    assert.deepEqual(dedupeNames(effects), ['code:qr:1', 'status:authenticated:1', 'code:qr:2']);
    const withoutAuthentication = run(scanning(), [
      event(1, { type: 'qr', qr: 'QR-1' }),
      event(1, { type: 'qr', qr: 'QR-2' }),
    ]);
    assert.deepEqual(dedupeNames(withoutAuthentication.effects), ['code:qr:1', 'code:qr:2']);
  });

  it('ignores engine events of an older generation', () => {
    const state = scanning();
    assert.deepEqual(transition(state, event(0, { type: 'qr', qr: 'old' }), context()).effects, []);
  });

  it('ready: activates with the phone number sent along, or extracts it on the host first', () => {
    const ownPhone = { phoneNumber: '62811801641', pushName: 'A', lid: null, platform: null, readInMs: 12 };
    const sent = transition(
      scanning(),
      { type: 'engineEvent', event: { generation: 1, event: { type: 'ready' }, emittedAt: NOW, ownPhone } },
      context(),
    );
    assert.deepEqual(sent.effects, [
      {
        type: 'activate',
        write: {
          identity: { phoneNumber: '62811801641', pushName: 'A', lid: null, platform: null },
          timings: { phoneExtractionMs: 12 },
          dedupeName: 'activation:1',
        },
      },
    ]);
    const extracted = transition(scanning(), event(1, { type: 'ready' }), context());
    assert.deepEqual(extracted.effects, [{ type: 'extractPhone', taskQueue: 'host-a', generation: 1 }]);
    const lost = run(scanning(), [{ type: 'phoneUnreadable', reason: 'SessionNotOnHost' }]);
    assert.deepEqual(lost.state.host, { phase: 'none' }, 'a host without the session is lost, not the phone');
    assert.equal(lost.state.deadlines.reconnectAt, NOW);
  });

  it('a transient drop while connected: stops the client, writes disconnected, schedules a reconnect with backoff', () => {
    const { state, effects } = run(connected(), [
      event(1, { type: 'disconnected', kind: 'transient', reason: 'browser_closed' }),
    ]);
    assert.deepEqual(
      effects.map((effect) => effect.type),
      ['stopEngine', 'writeStatus', 'writeEvent'],
    );
    assert.equal(state.account.reconnectAttempts, 1);
    // With no jitter (random 0) the first delay is half the base delay.
    assert.equal(state.deadlines.reconnectAt, NOW + DEFAULT_TIMINGS.reconnectBaseDelayMs / 2);
    assert.deepEqual(state.host, { phase: 'none' });
    const finished = run(state, [
      {
        type: 'statusWritten',
        write: { status: 'disconnected', eventType: 'disconnected', reason: 'x', dedupeName: 'status:disconnected:1' },
        snapshot: snapshot('disconnected'),
      },
    ]).state;
    assert.equal(finished.account.status, 'disconnected');
  });

  it('gives up once every reconnect attempt is spent', () => {
    let state = connected();
    state = { ...state, account: { ...state.account, reconnectAttempts: DEFAULT_TIMINGS.reconnectMaxAttempts } };
    const { effects } = run(state, [event(1, { type: 'disconnected', kind: 'transient', reason: 'browser_closed' })]);
    const end = effects.find((effect) => effect.type === 'writeEnd');
    assert.ok(end && end.type === 'writeEnd');
    assert.equal(end.write.status, 'failed');
    assert.equal(end.write.reason, 'reconnect_failed:browser_closed');
  });

  it('delete: logs out and forgets the login, hides the row, and ends with the write', () => {
    const { state, effects } = run(connected(), [{ type: 'command', command: { type: 'delete' } }]);
    assert.deepEqual(effects[0], {
      type: 'stopEngine',
      taskQueue: 'host-a',
      generation: 1,
      logout: true,
      forgetLogin: true,
    });
    const end = effects[1];
    assert.ok(end?.type === 'writeEnd');
    assert.equal(end.write.softDelete, true, 'the row is hidden');
    assert.equal(end.write.forgetLogin, true, 'the login in PostgreSQL goes with the ending');
    assert.equal(state.account.ended, false, 'ended once the database said so');
    const ended = run(state, [
      {
        type: 'endWritten',
        write: {
          status: 'disconnected',
          eventType: 'session_deleted',
          reason: 'deleted',
          softDelete: true,
          forgetLogin: true,
          dedupeName: 'end:1',
        },
        snapshot: snapshot('disconnected', { deleted: true }),
      },
    ]).state;
    assert.equal(ended.account.ended, true);
  });

  it('a lost host: gone for sure is let go, a failed watch is asked to stop its client; stale reports change nothing', () => {
    const gone = run(connected(), [{ type: 'hostGone', hostTaskQueue: 'host-a' }]);
    assert.deepEqual(
      gone.effects.map((effect) => effect.type),
      ['warn'],
    );
    assert.deepEqual(gone.state.host, { phase: 'none' });
    const watchFailed = run(connected(), [{ type: 'watchEnded', taskQueue: 'host-a', generation: 1, failed: true }]);
    assert.deepEqual(watchFailed.effects[0], {
      type: 'stopEngine',
      taskQueue: 'host-a',
      generation: 1,
      logout: false,
      forgetLogin: false,
    });
    const stale = run(connected(), [{ type: 'watchEnded', taskQueue: 'host-a', generation: 0, failed: true }]);
    assert.deepEqual(stale.effects, []);
    assert.deepEqual(run(connected(), [{ type: 'hostGone', hostTaskQueue: 'host-b' }]).effects, []);
  });

  it('a stall before ready restarts the session once per stall: one after the account connected restarts it again; a lost host takes the wait for ready with it', () => {
    /** The session up again on `host-a` under `generation`, after a restart or a drop. */
    const upAgain = (state: AccountWorkflowState, generation: number) =>
      run(state, [
        { type: 'deadline', name: 'reconnectAt' },
        { type: 'hostNeeded' },
        { type: 'placementAnswered', generation, taskQueue: 'host-a' },
        { type: 'engineStarted', taskQueue: 'host-a', generation, resuming: true },
      ]).state;
    const ownPhone = { phoneNumber: '62811801641', pushName: null, lid: null, platform: null, readInMs: 5 };

    // Linking: logged in, `ready` never came, restarted once; then connected.
    let state = run(scanning(), [event(1, { type: 'authenticated' }), { type: 'deadline', name: 'readyBy' }]).state;
    assert.equal(state.account.ended, false);
    state = upAgain(state, 2);
    state = run(state, [
      event(2, { type: 'authenticated' }),
      { type: 'engineEvent', event: { generation: 2, event: { type: 'ready' }, emittedAt: NOW, ownPhone } },
      {
        type: 'activated',
        identity: { phoneNumber: ownPhone.phoneNumber, pushName: null, lid: null, platform: null },
        result: { ...snapshot('connected'), releasedSessionIds: [] },
      },
    ]).state;
    assert.equal(state.account.status, 'connected');

    // Weeks later: a drop, and the session back from its saved login stalls before `ready` once more.
    state = run(state, [event(2, { type: 'disconnected', kind: 'transient', reason: 'network' })]).state;
    state = upAgain(state, 3);
    const stalled = run(state, [event(3, { type: 'authenticated' }), { type: 'deadline', name: 'readyBy' }]);
    assert.equal(
      stalled.effects.some((effect) => effect.type === 'writeEnd'),
      false,
      'not ended with ready_timeout',
    );
    assert.ok(
      stalled.effects.some((effect) => effect.type === 'stopEngine'),
      'the stalled client is stopped to start again',
    );
    assert.equal(stalled.state.deadlines.reconnectAt, NOW);

    // A host lost while the account waits for `ready`: the wait goes with it, the move has a clock of its own.
    const waiting = run(scanning(), [event(1, { type: 'authenticated' })]).state;
    assert.notEqual(waiting.deadlines.readyBy, undefined);
    const moved = run(waiting, [{ type: 'hostGone', hostTaskQueue: 'host-a' }]).state;
    assert.equal(moved.deadlines.readyBy, undefined);
  });

  it('a host that did not answer the phone extraction or a resumed start is lost and asked to stop its client; a host without the session is only let go', () => {
    const askedToStop = { type: 'stopEngine', taskQueue: 'host-a', generation: 1, logout: false, forgetLogin: false };
    for (const reason of ['timeout_SCHEDULE_TO_START', 'timeout_HEARTBEAT']) {
      const unanswered = run(awaitingPhone(), [{ type: 'phoneUnreadable', reason }]);
      assert.equal(unanswered.state.account.ended, false, `${reason}: the phone number is not what failed`);
      assert.deepEqual(unanswered.effects[0], askedToStop, reason);
      assert.deepEqual(unanswered.state.host, { phase: 'none' });
      assert.equal(unanswered.state.deadlines.reconnectAt, NOW);
    }
    for (const reason of ['timeout_SCHEDULE_TO_START', 'timeout_START_TO_CLOSE']) {
      const resumed = run(scanning(), [{ type: 'engineStartFailed', reason, resuming: true }]);
      assert.deepEqual(resumed.effects[0], askedToStop, `a resumed start: ${reason}`);
    }

    // A host that took the extraction and never answered (a page that hangs): stopped, and tried again later as a
    // reconnect, so a page that always hangs ends the account once the attempts are spent, its device still linked.
    let hanging = run(awaitingPhone(), [{ type: 'phoneUnreadable', reason: 'timeout_START_TO_CLOSE' }]);
    assert.deepEqual(hanging.effects[0], askedToStop);
    assert.equal(hanging.state.account.ended, false);
    assert.ok((hanging.state.deadlines.reconnectAt ?? 0) > NOW, 'after a backoff');
    for (let attempt = 2; attempt <= DEFAULT_TIMINGS.reconnectMaxAttempts + 1; attempt += 1) {
      const generation = hanging.state.account.generation + 1;
      hanging = run(hanging.state, [
        { type: 'deadline', name: 'reconnectAt' },
        { type: 'hostNeeded' },
        { type: 'placementAnswered', generation, taskQueue: 'host-a' },
        { type: 'engineStarted', taskQueue: 'host-a', generation, resuming: false },
        event(generation, { type: 'ready' }),
        { type: 'phoneUnreadable', reason: 'timeout_START_TO_CLOSE' },
      ]);
    }
    const ending = hanging.effects.find((effect) => effect.type === 'writeEnd');
    assert.ok(ending && ending.type === 'writeEnd', 'ended once the attempts are spent');
    assert.equal(ending.write.reason, 'reconnect_failed:phone_extraction_timeout');
    assert.equal(
      hanging.effects.some((effect) => effect.type === 'stopEngine' && effect.logout),
      false,
      'never logged out',
    );
    const without = run(awaitingPhone(), [{ type: 'phoneUnreadable', reason: 'SessionNotOnHost' }]);
    assert.equal(
      without.effects.some((effect) => effect.type === 'stopEngine'),
      false,
      'nothing to stop on a host without the session',
    );
    const unreadable = run(awaitingPhone(), [{ type: 'phoneUnreadable', reason: 'PhoneUnresolvable' }]);
    assert.ok(
      unreadable.effects.some((effect) => effect.type === 'writeEnd'),
      'a phone WhatsApp never gave ends it',
    );
  });

  it('an extraction out of its budget is judged by its last attempt: one no host took is a host lost', () => {
    const budgetSpent = (lastAttempt: Error) => {
      const timeout = new TimeoutFailure('activity ScheduleToClose timeout', undefined, TimeoutType.SCHEDULE_TO_CLOSE);
      Object.assign(timeout, { cause: lastAttempt });
      return new ActivityFailure('activity failed', 'extractPhone', '1', RetryState.TIMEOUT, 'worker', timeout);
    };
    const noHost = new TimeoutFailure(undefined, undefined, TimeoutType.SCHEDULE_TO_START);
    assert.equal(lastAttemptReason(budgetSpent(noHost), 'phone_extraction_failed'), 'timeout_SCHEDULE_TO_START');
    const notYet = ApplicationFailure.retryable('not yet', 'PhoneNotYetKnown');
    assert.equal(lastAttemptReason(budgetSpent(notYet), 'phone_extraction_failed'), 'PhoneNotYetKnown');
    const refused = ApplicationFailure.nonRetryable('no such phone', 'PhoneUnresolvable');
    const failedOnce = new ActivityFailure(
      'activity failed',
      'extractPhone',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      'w',
      refused,
    );
    assert.equal(lastAttemptReason(failedOnce, 'phone_extraction_failed'), 'PhoneUnresolvable');
  });

  it('refuses a pairing-code request once the account is past scanning', () => {
    const { effects } = run(connected(), [{ type: 'pairingRequested', requestId: 7, phoneNumber: '62811801641' }]);
    assert.deepEqual(effects, [
      {
        type: 'answerPairing',
        requestId: 7,
        outcome: {
          refusal: 'pairing codes are for accounts not linked yet; this one is connected',
          type: 'NotScanning',
        },
      },
    ]);
  });
});

describe('a connected session moving to another host after its host was lost', () => {
  const QUIET_MS = DEFAULT_TIMINGS.hostMoveQuietMs;
  const phone: PhoneIdentity = { phoneNumber: '62811801641', pushName: null, lid: null, platform: null };
  const readyAgain = (generation: number, ownPhone = { ...phone, readInMs: 3 }): AccountInput => ({
    type: 'engineEvent',
    event: { generation, event: { type: 'ready' }, emittedAt: NOW, ownPhone },
  });
  /** Lost on `host-a`, placed and started on `host-b` as generation 2. */
  const movedTo = (state: AccountWorkflowState, options: { timings?: typeof DEFAULT_TIMINGS } = {}) =>
    run(
      state,
      [
        { type: 'hostGone', hostTaskQueue: 'host-a' },
        { type: 'deadline', name: 'reconnectAt' },
        { type: 'hostNeeded' },
        { type: 'placementAnswered', generation: 2, taskQueue: 'host-b' },
        { type: 'engineStarted', taskQueue: 'host-b', generation: 2, resuming: false },
      ],
      NOW,
      options.timings,
    );
  const rowWrites = (effects: AccountEffect[]) =>
    effects.filter((effect) => 'write' in effect).map((effect) => effect.type);

  it('back with the same phone within hostMoveQuietMs: no row write at all, the row said connected throughout', () => {
    const moving = movedTo(connected());
    assert.deepEqual(rowWrites(moving.effects), [], 'neither disconnected nor engine_starting');
    assert.deepEqual(
      moving.effects.map((effect) => effect.type),
      ['warn', 'askForHost', 'showHost', 'startEngine'],
    );
    assert.equal(moving.state.account.status, 'connected');
    assert.equal(moving.state.deadlines.moveNotice, NOW + QUIET_MS);
    assert.equal(
      moving.state.deadlines.reconnectBy,
      NOW + DEFAULT_TIMINGS.readyTimeoutMs,
      'a start that hangs is caught',
    );

    const back = run(moving.state, [readyAgain(2)]);
    assert.deepEqual(back.effects, []);
    assert.equal(back.state.account.status, 'connected');
    assert.equal(back.state.quietMove, undefined);
    assert.equal(back.state.deadlines.moveNotice, undefined);
    assert.equal(back.state.deadlines.reconnectBy, undefined);
  });

  it('back with another push name: the activation is written', () => {
    const renamed = run(movedTo(connected()).state, [readyAgain(2, { ...phone, pushName: 'New name', readInMs: 3 })]);
    assert.deepEqual(rowWrites(renamed.effects), ['activate']);
  });

  it('not back within hostMoveQuietMs: the row says disconnected (host_lost), and connected once back', () => {
    const moving = movedTo(connected()).state;
    const late = run(moving, [{ type: 'deadline', name: 'moveNotice' }], NOW + QUIET_MS);
    assert.deepEqual(late.effects, [
      {
        type: 'writeStatus',
        write: {
          status: 'disconnected',
          eventType: 'disconnected',
          reason: 'host_lost',
          dedupeName: 'status:disconnected:1',
        },
      },
    ]);
    const back = run(late.state, [readyAgain(2)], NOW + QUIET_MS + 1);
    assert.deepEqual(rowWrites(back.effects), ['activate']);
  });

  it('back after hostMoveQuietMs, its ready handled before the overdue notice: disconnected, then the activation', () => {
    const moving = movedTo(connected()).state;
    const late = run(moving, [readyAgain(2)], NOW + QUIET_MS + 1);
    assert.deepEqual(
      late.effects.flatMap((effect) =>
        effect.type === 'writeStatus'
          ? [`status:${effect.write.reason}`]
          : effect.type === 'activate'
            ? ['activate']
            : [],
      ),
      ['status:host_lost', 'activate'],
    );
    assert.equal(late.state.quietMove, undefined);
    assert.equal(late.state.deadlines.moveNotice, undefined);
  });

  it('a move whose start fails stops being quiet: disconnected is written before the retry it waits for', () => {
    const failed = run(movedTo(connected()).state, [
      { type: 'engineStartFailed', reason: 'engine_start_failed', resuming: false },
    ]);
    const moving = run(connected(), [
      { type: 'hostGone', hostTaskQueue: 'host-a' },
      { type: 'deadline', name: 'reconnectAt' },
      { type: 'hostNeeded' },
      { type: 'placementFailed', generation: 2, reason: 'engine_start_failed' },
    ]);
    for (const { effects, state } of [failed, moving]) {
      const writes = effects.flatMap((effect) =>
        effect.type === 'writeStatus' || effect.type === 'writeEvent' ? [effect] : [],
      );
      assert.deepEqual(
        writes.map((effect) =>
          effect.type === 'writeStatus' ? `status:${effect.write.reason}` : `event:${effect.write.eventType}`,
        ),
        ['status:host_lost', 'event:engine_retry_scheduled'],
      );
      assert.equal(state.quietMove, undefined);
    }
  });

  it('a move that waits for a free seat past hostWaitNoticeMs says disconnected before it says it waits', () => {
    const waiting = run(connected(), [
      { type: 'hostGone', hostTaskQueue: 'host-a' },
      { type: 'deadline', name: 'reconnectAt' },
      { type: 'hostNeeded' },
      { type: 'deadline', name: 'hostWaitNotice' },
    ]);
    assert.deepEqual(
      waiting.effects.flatMap((effect) =>
        effect.type === 'writeStatus' || effect.type === 'writeEvent' ? [effect.write.eventType] : [],
      ),
      ['disconnected', 'waiting_for_host'],
    );
  });

  it('with hostMoveQuietMs 0 the row says disconnected at once and every step of the move is written', () => {
    const moving = movedTo(connected(), { timings: MOVES_SHOWN_AT_ONCE });
    assert.deepEqual(rowWrites(moving.effects), ['writeStatus', 'writeEvent']);
    assert.equal(moving.state.quietMove, undefined);
  });
});

describe('the order the account loop takes its inputs in (replay depends on it)', () => {
  it('host needed, commands, engine events, host reports, placement answers, pairing requests, deadlines', () => {
    const state = connected();
    state.deadlines = { hostWaitNotice: NOW - 1, qrExpiry: NOW - 1 };
    const inbox = newInbox([{ generation: 1, event: { type: 'authenticated' }, emittedAt: NOW }]);
    inbox.pairingRequests.push({ type: 'pairingRequested', requestId: 1, phoneNumber: '62811801641' });
    inbox.placementAnswers.push({ type: 'placementAnswered', generation: 1, taskQueue: 'host-b' });
    inbox.hostReports.push({ type: 'hostGone', hostTaskQueue: 'host-a' });
    inbox.commands.push({ type: 'delete' });
    const taken: string[] = [];
    for (let input = takeNextInput(state, inbox, NOW); input; input = takeNextInput(state, inbox, NOW)) {
      taken.push(input.type === 'deadline' ? `deadline:${input.name}` : input.type);
      if (input.type === 'deadline') delete state.deadlines[input.name];
    }
    assert.deepEqual(taken, [
      'command',
      'engineEvent',
      'hostGone',
      'placementAnswered',
      'pairingRequested',
      'deadline:qrExpiry',
      'deadline:hostWaitNotice',
    ]);
  });

  it('a ready the lost host sent before it was lost comes first: the account connects, then writes disconnected (moves shown at once) and moves', () => {
    // A worker killed after writing the activation, before its workflow task completed: the next worker finds the
    // session's ready and the report of its lost host in one task, and the row already says connected.
    const ownPhone = { phoneNumber: '62811801641', pushName: 'A', lid: null, platform: null, readInMs: 12 };
    let state = run(scanning(), [event(1, { type: 'authenticated' })]).state;
    const inbox = newInbox([{ generation: 1, event: { type: 'ready' }, emittedAt: NOW, ownPhone }]);
    inbox.hostReports.push({ type: 'hostGone', hostTaskQueue: 'host-a' });
    const steps: string[] = [];
    for (let input = takeNextInput(state, inbox, NOW); input; input = takeNextInput(state, inbox, NOW)) {
      steps.push(input.type === 'deadline' ? `deadline:${input.name}` : input.type);
      if (input.type === 'hostNeeded') break;
      const pending: AccountInput[] = [input];
      for (let next = pending.shift(); next; next = pending.shift()) {
        const step = transition(state, next, context(NOW, 0, MOVES_SHOWN_AT_ONCE));
        state = step.state;
        for (const effect of step.effects) {
          if (effect.type === 'activate') {
            steps.push('activate');
            // The row already says connected: the lost task's activation is found by its dedupe key.
            const result = { ...snapshot('connected', { applied: false }), releasedSessionIds: [] };
            pending.push({ type: 'activated', identity: effect.write.identity, result });
          }
          if (effect.type === 'writeStatus') steps.push(`${effect.write.status}:${effect.write.reason ?? ''}`);
        }
      }
    }
    assert.deepEqual(steps, [
      'engineEvent',
      'activate',
      'hostGone',
      'disconnected:host_lost',
      'deadline:reconnectAt',
      // The move: a new host is asked for.
      'hostNeeded',
    ]);
  });

  it('a session without a host asks for one before anything else, unless a reconnect is waited for', () => {
    const state = run(fresh(), [{ type: 'started' }]).state;
    const inbox = newInbox();
    inbox.commands.push({ type: 'delete' });
    assert.deepEqual(takeNextInput(state, inbox, NOW), { type: 'hostNeeded' });
    state.deadlines.reconnectAt = NOW + 5_000;
    assert.deepEqual(takeNextInput(state, inbox, NOW), { type: 'command', command: { type: 'delete' } });
  });
});

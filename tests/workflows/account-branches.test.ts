import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { AccountStatus } from '../../domain/account-status.js';
import type { EngineEvent } from '../../engine/types.js';
import type { accountConnection } from '../../workflows/account-connection.js';
import { createAccountSettingsActivities } from '../../activities/account-settings.js';
import { accountSettings, type AccountSettings, type AccountTimings } from '../../domain/account-timings.js';
import { accountWorkflowId, placementTaskQueue } from '../../workflows/ids.js';
import * as messages from '../../workflows/messages.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { eventually, openTemporalClient, testStackEnv } from '../helpers/context.js';
import { StubWorld } from '../helpers/stub-activities.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Fast everything: the branches, not the waits, are under test. */
const TIMINGS: Partial<AccountTimings> = {
  qrExpiryMs: 60_000,
  readyTimeoutMs: 20_000,
  hostScheduleToStartMs: 5_000,
  hostHeartbeatTimeoutMs: 5_000,
  phoneExtractionBudgetMs: 5_000,
  reconnectBaseDelayMs: 20,
  reconnectMaxDelayMs: 100,
  reconnectMaxAttempts: 3,
  // Every step of a move is written: the quiet move is tested in tests/workflows/worker-crash.test.ts.
  hostMoveQuietMs: 0,
};

/**
 * Every branch of the account workflow, on a real Temporal server, with stubbed activities (tests/helpers/stub-activities)
 * and the engine's side played by the test: each test sends the engine events itself and reads what the workflow wrote.
 * The histories are replayed at the end, so a branch that replays differently fails here.
 */
describe('account workflow branches (real Temporal server, stubbed activities)', { timeout: 120_000 }, () => {
  const taskQueue = `branches-${randomUUID()}`;
  const world = new StubWorld(taskQueue);
  const histories: Array<{ workflowId: string; history: History }> = [];
  /** What the worker answers each account's run for its settings, by session id. */
  const settings = new Map<string, AccountSettings>();
  let client: Client;
  let closeClient: () => Promise<void>;
  let connection: NativeConnection;
  let worker: Worker;
  let placementWorker: Worker;
  let running: Promise<void>;

  before(async () => {
    ({ client, close: closeClient } = await openTemporalClient());
    connection = await NativeConnection.connect({ address: testStackEnv().temporalAddress });
    worker = await Worker.create({
      connection,
      taskQueue,
      dataConverter: dataConverterFromEnv(process.env),
      workflowsPath: WORKFLOWS_PATH,
      activities: {
        ...createAccountSettingsActivities(async ({ sessionId }) => settings.get(sessionId) ?? accountSettings()),
        ...world.storeActivities(),
        ...world.leaseActivities(),
        ...world.hostActivities(),
      },
    });
    // Claims for a host go to the placement queue (each real host polls it only while it has a free seat).
    placementWorker = await Worker.create({
      connection,
      taskQueue: placementTaskQueue(taskQueue),
      dataConverter: dataConverterFromEnv(process.env),
      activities: { claimHost: (input?: { sessionId: string }) => world.hostActivities().claimHost(input) },
    });
    running = Promise.all([worker.run(), placementWorker.run()]).then(() => undefined);
  });

  after(async () => {
    world.releaseAll();
    worker.shutdown();
    placementWorker.shutdown();
    await running;
    await connection.close();
    await closeClient();
  });

  class Account {
    readonly handle: WorkflowHandle<typeof accountConnection>;
    constructor(readonly sessionId: string) {
      this.handle = client.workflow.getHandle(accountWorkflowId('ws-branches', sessionId));
    }
    get row() {
      return world.row(this.sessionId);
    }
    get host() {
      return world.session(this.sessionId);
    }
    /** Sends an engine event of the latest generation the host started (or of the one named). */
    async emit(event: EngineEvent, generation?: number) {
      const current = generation ?? (await world.started(this.sessionId));
      await messages.signalAccount(this.handle, messages.engineEventSignal, {
        generation: current,
        event,
        emittedAt: Date.now(),
      });
    }
    async rowBecomes(status: AccountStatus, what = `status ${status}`) {
      await eventually(
        async () => (this.row.status === status ? true : undefined),
        10_000,
        `${this.sessionId}: ${what}`,
      );
    }
    async ended() {
      const state = await this.handle.result();
      histories.push({ workflowId: this.handle.workflowId, history: await this.handle.fetchHistory() });
      return state;
    }
  }

  const startAccount = async (
    timings: Partial<AccountTimings> = {},
    extra: { continueAsNewAfterEvents?: number; beforeStart?: (sessionId: string) => void } = {},
  ) => {
    const sessionId = `branch-${randomUUID().slice(0, 8)}`;
    extra.beforeStart?.(sessionId);
    const continueAsNewAfterEvents = extra.continueAsNewAfterEvents ?? null;
    settings.set(sessionId, accountSettings({ timings: { ...TIMINGS, ...timings }, continueAsNewAfterEvents }));
    await client.workflow.start('accountConnection', {
      taskQueue,
      workflowId: accountWorkflowId('ws-branches', sessionId),
      args: [{ sessionId, workspaceId: 'ws-branches' }],
    });
    const account = new Account(sessionId);
    await account.rowBecomes('qr_scanning');
    return account;
  };

  const connectedAccount = async (timings: Partial<AccountTimings> = {}) => {
    const account = await startAccount(timings);
    await account.emit({ type: 'qr', qr: 'QR-1' });
    await account.emit({ type: 'authenticated' });
    await account.emit({ type: 'ready' });
    await account.rowBecomes('connected');
    return account;
  };

  it('no host has a free seat: the account waits and says so once, its QR clock stops, and it starts when a seat frees', async () => {
    let hostsFull: { free: () => void } | undefined;
    const account = await startAccount(
      { qrExpiryMs: 1_500, hostWaitNoticeMs: 300 },
      { beforeStart: (sessionId) => (hostsFull = world.fillHosts(sessionId)) },
    );
    await eventually(
      async () => (account.row.events.includes('waiting_for_host') ? true : undefined),
      10_000,
      'waiting_for_host',
    );
    // Past the whole QR window while waiting: the account must not expire for the lack of room.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(account.row.status, 'qr_scanning');
    assert.deepEqual(account.host.starts, [], 'no host started it');
    assert.equal(account.row.events.filter((event) => event === 'waiting_for_host').length, 1, 'said once');
    hostsFull?.free();
    assert.equal(await world.started(account.sessionId), 1);
    await account.emit({ type: 'qr', qr: 'QR-1' });
    // The QR clock runs again once a host has it: the window it had left ends the unscanned account.
    const state = await account.ended();
    assert.equal(state.status, 'failed');
    assert.equal(account.row.failureReason, 'qr_expired');
  });

  it('a delete while the account waits for a host ends it at once; no host ever starts it', async () => {
    const account = await startAccount(
      { hostWaitNoticeMs: 300 },
      { beforeStart: (sessionId) => world.fillHosts(sessionId) },
    );
    await eventually(
      async () => (account.row.events.includes('waiting_for_host') ? true : undefined),
      10_000,
      'waiting_for_host',
    );
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
    assert.equal(account.row.deleted, true);
    assert.deepEqual(account.host.starts, []);
  });

  it('QR expiry: an unscanned account fails with qr_expired and its login is forgotten', async () => {
    const account = await startAccount({ qrExpiryMs: 1_000 });
    await account.emit({ type: 'qr', qr: 'QR-1' });
    const state = await account.ended();
    assert.equal(state.status, 'failed');
    assert.equal(account.row.failureReason, 'qr_expired');
    assert.deepEqual(account.host.stops, [{ logout: false, forgetLogin: true }]);
    assert.equal(account.row.loginForgotten, true);
  });

  it('ready timeout: one restart from the saved login, then failed with ready_timeout', async () => {
    const account = await startAccount({ readyTimeoutMs: 1_000 });
    await account.emit({ type: 'authenticated' });
    await account.rowBecomes('authenticated');
    await world.started(account.sessionId, 2);
    await account.emit({ type: 'authenticated' }, 2);
    const state = await account.ended();
    assert.equal(state.status, 'failed');
    assert.equal(account.row.failureReason, 'ready_timeout');
    assert.deepEqual(account.host.starts, [1, 2], 'restarted exactly once');
    assert.deepEqual(account.host.stops.at(-1), { logout: true, forgetLogin: true });
  });

  it('phone extraction: a spent budget fails the account, never connected without a phone', async () => {
    const account = await startAccount({ phoneExtractionBudgetMs: 1_500 });
    account.host.extraction = { failure: 'IdentityNotAvailable', retryable: true };
    await account.emit({ type: 'authenticated' });
    await account.emit({ type: 'ready' });
    const state = await account.ended();
    assert.equal(state.status, 'failed');
    assert.match(account.row.failureReason ?? '', /^phone_extraction_failed:/);
    assert.ok(!account.row.events.includes('session_ready'), 'never activated');
  });

  it('phone extraction: an unresolvable own number fails at once with its reason', async () => {
    const account = await startAccount();
    account.host.extraction = { failure: 'PhoneUnresolvable', retryable: false };
    await account.emit({ type: 'authenticated' });
    await account.emit({ type: 'ready' });
    await account.ended();
    assert.equal(account.row.failureReason, 'phone_extraction_failed:PhoneUnresolvable');
  });

  it('the own number sent with ready connects without asking the host', async () => {
    const account = await startAccount();
    account.host.extraction = { failure: 'ShouldNotBeAsked', retryable: false };
    await account.emit({ type: 'authenticated' });
    const generation = await world.started(account.sessionId);
    const ownPhone = { phoneNumber: '4915112345678', pushName: 'Laden', lid: null, platform: 'android', readInMs: 3 };
    await messages.signalAccount(account.handle, messages.engineEventSignal, {
      generation,
      event: { type: 'ready' },
      emittedAt: Date.now(),
      ownPhone,
    });
    await account.rowBecomes('connected');
    assert.equal(account.row.phoneNumber, '4915112345678');
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('an event from a client of another run of the account (one an operator terminated) is not believed, whatever its generation', async () => {
    const account = await startAccount();
    const generation = await world.started(account.sessionId);
    const { firstExecutionRunId } = await account.handle.describe().then((described) => ({
      firstExecutionRunId: described.raw.workflowExecutionInfo?.firstRunId ?? described.runId,
    }));
    await messages.signalAccount(account.handle, messages.engineEventSignal, {
      generation,
      accountRun: 'a-run-an-operator-terminated',
      event: { type: 'disconnected', kind: 'logout', reason: 'LOGOUT' },
      emittedAt: Date.now(),
    });
    await messages.signalAccount(account.handle, messages.engineEventSignal, {
      generation,
      accountRun: firstExecutionRunId,
      event: { type: 'authenticated' },
      emittedAt: Date.now(),
    });
    await account.rowBecomes('authenticated', 'its own run’s event believed, the other run’s logout not');
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('reconnect backoff: a session that cannot come back fails with reconnect_failed after the bounded attempts, its login forgotten', async () => {
    const account = await connectedAccount();
    account.host.startFailure = 'ChromiumCrashed';
    await account.emit({ type: 'disconnected', kind: 'transient', reason: 'NAVIGATION' });
    const state = await account.ended();
    assert.equal(state.status, 'failed');
    assert.equal(account.row.failureReason, 'reconnect_failed:ChromiumCrashed');
    assert.equal(state.reconnectAttempts, TIMINGS.reconnectMaxAttempts! + 1);
    assert.equal(account.row.loginForgotten, true, 'an ended account keeps no login: nothing can restart it');
  });

  it('a transient drop reconnects from the saved login without a new QR', async () => {
    const account = await connectedAccount();
    await account.emit({ type: 'disconnected', kind: 'transient', reason: 'NAVIGATION' });
    await account.rowBecomes('disconnected');
    assert.equal(account.row.failureReason, 'transient:NAVIGATION');
    await world.started(account.sessionId, 2);
    await account.emit({ type: 'ready' }, 2);
    await account.rowBecomes('connected', 'connected again');
    assert.deepEqual(account.host.stops, [{ logout: false, forgetLogin: false }]);
    assert.deepEqual(account.row.loginCodes, ['qr:QR-1'], 'no new QR');
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('host lost: a connected session moves to another host and connects again without a scan', async () => {
    const account = await connectedAccount();
    world.killHost(account.sessionId, 1);
    await account.rowBecomes('disconnected');
    assert.equal(account.row.failureReason, 'host_lost');
    await world.started(account.sessionId, 2);
    await account.emit({ type: 'ready' }, 2);
    await account.rowBecomes('connected', 'connected again');
    // Only the watch failed: the host may live on with the client and its lease, so it is asked to let go (a dead
    // one never answers, and the call ends at its schedule-to-start timeout).
    assert.deepEqual(account.host.stops, [{ logout: false, forgetLogin: false }], 'the client is stopped, login kept');
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('a host out of Temporal’s reach: a delete it does not take is written on the session’s lease, logout and all; a restart the same way, for the generation it ran', async () => {
    const deleted = await connectedAccount();
    deleted.host.stopFailure = 'timeout_SCHEDULE_TO_START';
    await messages.signalAccount(deleted.handle, messages.deleteAccountSignal);
    await deleted.ended();
    assert.equal(deleted.row.deleted, true);
    assert.deepEqual(deleted.host.stops, [], 'the host queue took no stop');
    assert.deepEqual(deleted.host.askedStops, [{ throughGeneration: 1, logout: true, forgetLogin: true }]);

    const restarted = await connectedAccount();
    restarted.host.stopFailure = 'timeout_SCHEDULE_TO_START';
    await messages.signalAccount(restarted.handle, messages.restartAccountSignal);
    await world.started(restarted.sessionId, 2);
    assert.deepEqual(restarted.host.askedStops, [{ throughGeneration: 1, logout: false, forgetLogin: false }]);
    await restarted.emit({ type: 'ready' }, 2);
    await restarted.rowBecomes('connected', 'connected again');
    restarted.host.stopFailure = null;
    await messages.signalAccount(restarted.handle, messages.deleteAccountSignal);
    await restarted.ended();
  });

  for (const [title, event, status, reason] of [
    [
      'the phone unlinks the device: disconnected for good, login forgotten',
      { type: 'disconnected', kind: 'logout', reason: 'LOGOUT' },
      'disconnected',
      'logged_out_from_phone',
    ],
    [
      'a ban fails the account with the ban reason',
      { type: 'disconnected', kind: 'banned', reason: 'TOS_BLOCK' },
      'failed',
      'banned:TOS_BLOCK',
    ],
    [
      'an auth failure fails the account',
      { type: 'auth_failure', reason: 'bad session' },
      'failed',
      'auth_failure:bad session',
    ],
    [
      'a login asked for again after connecting ends with login_lost',
      { type: 'qr', qr: 'QR-2' },
      'disconnected',
      'login_lost',
    ],
  ] as const) {
    it(title, async () => {
      const account = await connectedAccount();
      await account.emit(event);
      const state = await account.ended();
      assert.equal(state.status, status);
      assert.equal(account.row.failureReason, reason);
      assert.equal(account.row.loginForgotten, true);
      assert.deepEqual(account.host.stops, [{ logout: false, forgetLogin: true }]);
    });
  }

  it('an API logout unlinks the device on the phone and forgets the login', async () => {
    const account = await connectedAccount();
    await messages.signalAccount(account.handle, messages.logoutAccountSignal);
    const state = await account.ended();
    assert.equal(state.status, 'disconnected');
    assert.equal(account.row.failureReason, 'logged_out');
    assert.deepEqual(account.host.stops, [{ logout: true, forgetLogin: true }]);
  });

  it('a delete that arrives while a logout ends the account is still carried out: the row is hidden', async () => {
    const account = await connectedAccount();
    await messages.signalAccount(account.handle, messages.logoutAccountSignal);
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
    assert.equal(account.row.deleted, true, 'deleted, although the logout had ended the account');
    assert.ok(account.row.events.includes('logged_out') && account.row.events.includes('session_deleted'));
  });

  it('delete in each status: soft-deleted, logged out, login forgotten; failed unless it had connected', async () => {
    const scanning = await startAccount();
    const authenticated = await startAccount();
    await authenticated.emit({ type: 'authenticated' });
    await authenticated.rowBecomes('authenticated');
    const connected = await connectedAccount();
    const disconnected = await connectedAccount({ reconnectBaseDelayMs: 60_000, reconnectMaxDelayMs: 60_000 });
    await disconnected.emit({ type: 'disconnected', kind: 'transient', reason: 'NAVIGATION' });
    await disconnected.rowBecomes('disconnected');
    for (const [account, status] of [
      [scanning, 'failed'],
      [authenticated, 'failed'],
      [connected, 'disconnected'],
      [disconnected, 'disconnected'],
    ] as const) {
      await messages.signalAccount(account.handle, messages.deleteAccountSignal);
      const state = await account.ended();
      assert.equal(state.status, status, `deleted while ${status}`);
      assert.equal(account.row.failureReason, 'deleted');
      assert.equal(account.row.deleted, true);
      assert.equal(account.row.loginForgotten, true);
      assert.ok(account.row.events.includes('session_deleted'));
    }
    assert.deepEqual(
      disconnected.host.stops,
      [{ logout: false, forgetLogin: false }],
      'a session waiting to reconnect has no client to stop',
    );
  });

  it('restart: the client restarts from the saved login, disconnected meanwhile, no new QR', async () => {
    const account = await connectedAccount();
    await messages.signalAccount(account.handle, messages.restartAccountSignal);
    await account.rowBecomes('disconnected');
    assert.equal(account.row.failureReason, 'restart_requested');
    await world.started(account.sessionId, 2);
    await account.emit({ type: 'ready' }, 2);
    await account.rowBecomes('connected', 'connected again');
    assert.deepEqual(account.row.loginCodes, ['qr:QR-1']);
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('superseded: another account took the phone (its activation removed this login); this one logs out its client, whose host forgets its copy', async () => {
    const account = await connectedAccount();
    await messages.signalAccount(account.handle, messages.supersededSignal, { bySessionId: 'newer-account' });
    const state = await account.ended();
    assert.equal(state.status, 'failed');
    assert.equal(state.failureReason, 'phone_moved_to_session:newer-account');
    assert.deepEqual(account.host.stops, [{ logout: true, forgetLogin: true }]);
  });

  it('pairing codes: answered while scanning; refused for a malformed number, by a host without the session in words of its own, and once linked', async () => {
    const account = await startAccount();
    await world.started(account.sessionId);
    const answer = await account.handle.executeUpdate(messages.requestPairingCodeUpdate, {
      args: [{ workflowId: account.handle.workflowId, phoneNumber: '62811801641' }],
    });
    assert.deepEqual(answer, { code: 'ABCD-EFGH' });
    assert.deepEqual(account.row.loginCodes, ['pairing_code:ABCD-EFGH']);
    await assert.rejects(
      account.handle.executeUpdate(messages.requestPairingCodeUpdate, {
        args: [{ workflowId: account.handle.workflowId, phoneNumber: '0811' }],
      }),
      WorkflowUpdateFailedError,
    );
    // A host without the session: the requester reads that it may try again, never the host's words and ids.
    account.host.pairingFailure = 'SessionNotOnHost';
    await assert.rejects(
      account.handle.executeUpdate(messages.requestPairingCodeUpdate, {
        args: [{ workflowId: account.handle.workflowId, phoneNumber: '62811801641' }],
      }),
      (error: unknown) =>
        error instanceof WorkflowUpdateFailedError &&
        error.cause?.message === 'the session is between hosts; try again in a moment' &&
        (error.cause as ApplicationFailure).type === 'SessionUnavailable',
    );
    account.host.pairingFailure = null;
    await account.emit({ type: 'authenticated' });
    await account.emit({ type: 'ready' });
    await account.rowBecomes('connected');
    await assert.rejects(
      account.handle.executeUpdate(messages.requestPairingCodeUpdate, {
        args: [{ workflowId: account.handle.workflowId, phoneNumber: '62811801641' }],
      }),
      (error: unknown) =>
        error instanceof WorkflowUpdateFailedError &&
        /not linked yet; this one is connected/.test(String(error.cause?.message)),
    );
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it("a pairing-code request in the run's very first task is answered by the account, not refused for want of a handler", async () => {
    const sessionId = `branch-${randomUUID().slice(0, 8)}`;
    settings.set(sessionId, accountSettings({ timings: TIMINGS, continueAsNewAfterEvents: null }));
    const workflowId = accountWorkflowId('ws-branches', sessionId);
    // Delivered with the start itself, so it reaches the run's first activation, before the account exists.
    const start = new WithStartWorkflowOperation('accountConnection', {
      taskQueue,
      workflowId,
      args: [{ sessionId, workspaceId: 'ws-branches' }],
      workflowIdConflictPolicy: 'FAIL',
    });
    const request = { workflowId, phoneNumber: '62811801641' };
    await assert.rejects(
      client.workflow.executeUpdateWithStart(messages.requestPairingCodeUpdate, {
        args: [request],
        startWorkflowOperation: start,
      }),
      (error: unknown) =>
        error instanceof WorkflowUpdateFailedError &&
        (error.cause as ApplicationFailure).type === 'SessionUnavailable' &&
        error.cause?.message === 'the session is between hosts; try again in a moment',
      'the account, still looking for a host, asks to try again',
    );
    const account = new Account(sessionId);
    await world.started(sessionId);
    const answer = await account.handle.executeUpdate(messages.requestPairingCodeUpdate, { args: [request] });
    assert.deepEqual(answer, { code: 'ABCD-EFGH' });
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('a message addressed to another account, or not of its shape, changes nothing and never fails a workflow task', async () => {
    const account = await startAccount();
    const generation = await world.started(account.sessionId);
    const own = { workflowId: account.handle.workflowId };
    const elsewhere = { workflowId: accountWorkflowId('ws-branches', 'another-account') };
    // Each would change the account were it believed: a ready with a phone, the end of its host, an ending.
    const ready = { generation, event: { type: 'ready' }, emittedAt: Date.now() } as const;
    const ownPhone = { phoneNumber: '4915112345678', pushName: null, lid: null, platform: null, readInMs: 1 };
    await account.handle.signal(messages.engineEventSignal, { ...elsewhere, ...ready, ownPhone });
    await account.handle.signal(messages.hostGoneSignal, { ...elsewhere, hostTaskQueue: taskQueue });
    await account.handle.signal(messages.supersededSignal, { ...elsewhere, bySessionId: 'newer-account' });
    await account.handle.signal(messages.deleteAccountSignal, elsewhere);
    // Addressed to it, but not of their shape: an event that is no event, an ending with no one to end it for.
    await account.handle.signal(messages.engineEventSignal, { ...own, generation, event: null, emittedAt: 1 } as never);
    await account.handle.signal(messages.supersededSignal, { ...own, bySessionId: 42 } as never);
    await assert.rejects(
      account.handle.executeUpdate(messages.requestPairingCodeUpdate, {
        args: [{ ...elsewhere, phoneNumber: '62811801641' }],
      }),
      (error: unknown) =>
        error instanceof WorkflowUpdateFailedError && /names another workflow/.test(String(error.cause?.message)),
    );
    await account.emit({ type: 'authenticated' });
    await account.rowBecomes('authenticated');
    assert.equal(account.row.phoneNumber, null);
    assert.deepEqual(account.host.starts, [generation], 'still on its first host');
    assert.deepEqual(account.host.stops, []);
    assert.deepEqual(account.row.loginCodes, [], 'no pairing code was asked for');
    const failedTasks = (await account.handle.fetchHistory()).events?.filter(
      (e) => e.workflowTaskFailedEventAttributes,
    );
    assert.deepEqual(failedTasks, []);
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
    assert.equal(account.row.failureReason, 'deleted');
  });

  it('continue-as-new carries the state and the session; the next run still reconnects', async () => {
    const account = await startAccount({}, { continueAsNewAfterEvents: 2 });
    const firstRunId = (await account.handle.describe()).runId;
    await account.emit({ type: 'qr', qr: 'QR-1' });
    await account.emit({ type: 'authenticated' });
    await account.emit({ type: 'ready' });
    await account.rowBecomes('connected');
    await eventually(
      async () => ((await account.handle.describe()).runId !== firstRunId ? true : undefined),
      10_000,
      'a new run',
    );
    const state = await account.handle.query(messages.accountStateQuery);
    assert.equal(state.status, 'connected');
    assert.equal(state.phoneNumber, '62811801641');
    await account.emit({ type: 'disconnected', kind: 'transient', reason: 'NAVIGATION' });
    await world.started(account.sessionId, 2);
    await account.emit({ type: 'ready' }, 2);
    await eventually(
      async () =>
        (await account.handle.query(messages.accountStateQuery)).generation === 2 && account.row.status === 'connected'
          ? true
          : undefined,
      10_000,
      'connected on generation 2',
    );
    await messages.signalAccount(account.handle, messages.deleteAccountSignal);
    await account.ended();
  });

  it('every history above replays against the same code', async () => {
    assert.ok(histories.length >= 15, `collected ${histories.length} histories`);
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: WORKFLOWS_PATH, dataConverter: dataConverterFromEnv(process.env) },
      histories,
    )) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    }
  });
});

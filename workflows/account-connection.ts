import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { HostQueueActivities, SharedActivities } from '../activities/index.js';
import type { AccountSnapshot } from '../activities/account-store.js';
import { canMoveTo, type AccountStatus } from '../domain/account-status.js';
import {
  DEFAULT_TIMINGS,
  type AccountConnectionInput,
  type AccountConnectionState,
  type AccountTimings,
} from './account-state.js';
import { accountWorkflowId } from './ids.js';
import {
  accountStateQuery,
  deleteAccountSignal,
  engineEventSignal,
  logoutAccountSignal,
  requestPairingCodeUpdate,
  restartAccountSignal,
  supersededSignal,
  type EngineEventEnvelope,
} from './messages.js';
import { accountStatusKey, workspaceIdKey } from './search-attributes.js';
import { webhookDelivery } from './webhook-delivery.js';

export type { AccountConnectionInput, AccountConnectionState } from './account-state.js';

// Database writes: short attempts, retried long enough to ride out a PostgreSQL restart.
const storeRetry = { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' } as const;
/** On the shared queue: `claimHost` is answered by whichever worker picks it up, which spreads sessions over hosts. */
const store = proxyActivities<SharedActivities>({ startToCloseTimeout: '10 seconds', scheduleToCloseTimeout: '15 minutes', retry: storeRetry });
/**
 * The row writes run inside the workflow task (local activities): each would otherwise cost an activity task and one
 * more workflow task through the server, which is most of the server's work per connection (docs/benchmarks.md).
 * Only the main loop calls them, one at a time: the pairing-code update hands its work to the loop, so no handler
 * ever runs a local activity beside the loop's timers.
 */
const storeInTask = proxyLocalActivities<SharedActivities>({ startToCloseTimeout: '10 seconds', scheduleToCloseTimeout: '15 minutes', retry: storeRetry });
/** Runs started before the row writes moved into the workflow task replay with the old ones (ordinary activities). */
const WRITES_IN_WORKFLOW_TASK_PATCH = 'row-writes-in-workflow-task';
/** The failure reason of a host-queue activity no process picked up within hostScheduleToStartMs. */
const HOST_NEVER_ANSWERED = 'timeout_SCHEDULE_TO_START';

/** Activities on the host queue of the worker process that holds this account's engine session. */
function hostActivities(taskQueue: string, timings: AccountTimings) {
  const onHost = { taskQueue, scheduleToStartTimeout: timings.hostScheduleToStartMs };
  return {
    // Starting a client (Chromium for the real engine) takes seconds; a host that never picks it up is dead.
    engine: proxyActivities<HostQueueActivities>({
      ...onHost,
      startToCloseTimeout: '2 minutes',
      retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: ['SessionNotOnHost', 'PairingCodeRefused'] },
    }),
    // Lives as long as the session; the heartbeat timeout is how a dead host is noticed.
    watch: proxyActivities<HostQueueActivities>({
      ...onHost,
      startToCloseTimeout: '3650 days',
      heartbeatTimeout: timings.hostHeartbeatTimeoutMs,
      retry: { maximumAttempts: 1 },
    }),
    // WhatsApp provides the own number some time after `ready`: retried with backoff within a bounded budget.
    extraction: proxyActivities<HostQueueActivities>({
      ...onHost,
      startToCloseTimeout: '5 seconds',
      scheduleToCloseTimeout: timings.phoneExtractionBudgetMs,
      retry: { initialInterval: '200 milliseconds', backoffCoefficient: 1.5, maximumInterval: '2 seconds', nonRetryableErrorTypes: ['PhoneUnresolvable', 'SessionNotOnHost'] },
    }),
  };
}

type PairingOutcome = { code: string } | { refusal: string; type: string };
interface PairingRequest {
  phoneNumber: string;
  outcome: PairingOutcome | null;
}

type Command =
  | { type: 'delete'; reason: string }
  | { type: 'logout'; reason: string }
  | { type: 'restart'; reason: string }
  | { type: 'superseded'; bySessionId: string };

interface AttachedHost {
  taskQueue: string;
  generation: number;
  activities: ReturnType<typeof hostActivities>;
}

/**
 * One durable workflow per WhatsApp account, the only writer of its status. Engine events arrive as signals, API
 * commands as signals and an update; everything that touches the database or the engine is an activity.
 */
export async function accountConnection(input: AccountConnectionInput): Promise<AccountConnectionState> {
  const timings: AccountTimings = { ...DEFAULT_TIMINGS, ...input.timings };
  const workflowId = workflowInfo().workflowId;
  const carried = input.carried;
  const state: AccountConnectionState = carried?.state ?? {
    sessionId: input.sessionId,
    workspaceId: input.workspaceId,
    status: 'qr_scanning',
    failureReason: null,
    phoneNumber: null,
    pushName: null,
    isPrimary: false,
    hostTaskQueue: null,
    generation: 0,
    changeCount: 0,
    reconnectAttempts: 0,
    latestQr: null,
    latestPairingCode: null,
    ended: false,
  };
  const events: EngineEventEnvelope[] = [...(carried?.pendingEvents ?? [])];
  const commands: Command[] = [];
  const startedAt = carried?.startedAt ?? Date.now();
  let everAuthenticated = carried?.everAuthenticated ?? false;
  let host: AttachedHost | null = null;
  let hostLost = false;
  let readyDeadline: number | null = null;
  let readyRestarts = 0;
  let reconnectAt: number | null = null;
  /** A session brought back up while disconnected must be connected by then, or the attempt counts as failed. */
  let reconnectDeadline: number | null = null;
  let lastFailure = 'engine_unavailable';
  let handledEvents = 0;
  let authenticatedAt: number | null = null;
  const writesInTask = patched(WRITES_IN_WORKFLOW_TASK_PATCH);
  const writes = writesInTask ? storeInTask : store;
  /** Pairing-code requests waiting for the main loop, which alone runs the account's activities. */
  const pairingRequests: PairingRequest[] = [];

  setHandler(accountStateQuery, () => state);
  setHandler(engineEventSignal, (envelope) => {
    if (envelope.generation === state.generation) events.push(envelope);
  });
  setHandler(deleteAccountSignal, ({ reason }) => void commands.push({ type: 'delete', reason: reason ?? 'deleted' }));
  setHandler(logoutAccountSignal, ({ reason }) => void commands.push({ type: 'logout', reason: reason ?? 'logged_out' }));
  setHandler(restartAccountSignal, ({ reason }) => void commands.push({ type: 'restart', reason: reason ?? 'restart_requested' }));
  setHandler(supersededSignal, ({ bySessionId }) => void commands.push({ type: 'superseded', bySessionId }));
  setHandler(
    requestPairingCodeUpdate,
    async ({ phoneNumber }) => {
      if (!writesInTask) return requestPairingCode(phoneNumber);
      const request: PairingRequest = { phoneNumber, outcome: null };
      pairingRequests.push(request);
      await condition(() => request.outcome !== null);
      const outcome = request.outcome ?? { refusal: 'no answer', type: 'PairingCodeRefused' };
      if ('code' in outcome) return { code: outcome.code };
      throw ApplicationFailure.nonRetryable(outcome.refusal, outcome.type);
    },
    {
      validator: ({ phoneNumber }) => {
        if (!/^[1-9][0-9]{6,14}$/.test(phoneNumber)) throw new Error('phoneNumber must be 7 to 15 digits with no leading 0 or +');
        if (state.status !== 'qr_scanning' || state.ended) throw new Error(`pairing codes are for accounts not linked yet; this one is ${state.status}`);
      },
    },
  );

  const nextKey = () => {
    state.changeCount += 1;
    return `${workflowId}:${state.changeCount}`;
  };
  const follow = async (snapshot: AccountSnapshot) => {
    // Each event goes out in a workflow of its own: a slow or dead receiver never holds this one up.
    // Results recorded before webhooks existed carry no ids: workflows already running replay them as none.
    for (const eventId of snapshot.webhookEventIds ?? []) {
      try {
        await startChild(webhookDelivery, {
          workflowId: `webhook-${eventId}`,
          args: [{ eventId }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (error) {
        // A retried write answers with the events it wrote the first time: their delivery may already be under way.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
    }
    state.isPrimary = snapshot.isPrimary;
    if (snapshot.status !== state.status) {
      state.status = snapshot.status;
      upsertSearchAttributes([{ key: accountStatusKey, value: snapshot.status }]);
    }
    // Another activation took this phone, or the row was deleted: this account is over.
    if (snapshot.deleted || snapshot.status === 'failed') state.ended = true;
  };
  const moveTo = async (status: AccountStatus, eventType: string, reason: string | null = null) => {
    if (!canMoveTo(state.status, status)) return;
    const snapshot = await writes.recordStatus({ sessionId: state.sessionId, status, eventType, reason, dedupeKey: nextKey() });
    state.failureReason = reason;
    await follow(snapshot);
  };
  const recordCode = async (kind: 'qr' | 'pairing_code', value: string, emittedAt?: number) => {
    // The first code of the account measures how long WhatsApp took to offer a login.
    const first = state.latestQr === null && state.latestPairingCode === null;
    if (kind === 'qr') state.latestQr = value;
    else state.latestPairingCode = value;
    const timings: Record<string, number> = {
      ...(first ? { qrGenerationMs: Date.now() - startedAt } : {}),
      ...(emittedAt !== undefined ? { emittedAt } : {}),
    };
    await writes.recordLoginCode({ sessionId: state.sessionId, kind, value, dedupeKey: nextKey(), timings });
  };

  /** Asks the engine for a pairing code and records it; throws when the session or the engine cannot give one. */
  const requestPairingCode = async (phoneNumber: string) => {
    const attached = host;
    if (!attached) throw ApplicationFailure.nonRetryable('the session is between hosts; try again in a moment', 'SessionUnavailable');
    const { code } = await attached.activities.engine.requestEnginePairingCode({ sessionId: state.sessionId, generation: attached.generation, phoneNumber });
    await recordCode('pairing_code', code);
    return { code };
  };
  /** The main loop's turn at a pairing-code request: the state may have moved on since the validator accepted it. */
  const answerPairingRequest = async (request: PairingRequest) => {
    if (state.status !== 'qr_scanning' || state.ended) {
      request.outcome = { refusal: `pairing codes are for accounts not linked yet; this one is ${state.status}`, type: 'NotScanning' };
      return;
    }
    try {
      request.outcome = await requestPairingCode(request.phoneNumber);
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      const refusal = cause instanceof Error ? cause.message : 'the engine gave no pairing code';
      request.outcome = { refusal, type: failureReason(error, 'PairingCodeRefused') };
    }
  };

  /** Claims a host (whichever worker answers), starts a new engine generation there and watches it. */
  const bringUpSession = async () => {
    state.generation += 1;
    events.length = 0;
    try {
      const { taskQueue } = await store.claimHost();
      await attach(taskQueue);
    } catch (error) {
      host = null;
      lastFailure = failureReason(error, 'engine_start_failed');
      log.warn('engine session did not start', { sessionId: state.sessionId, reason: lastFailure });
      await scheduleReconnect(lastFailure);
    }
  };
  const attach = async (taskQueue: string) => {
    const activities = hostActivities(taskQueue, timings);
    const generation = state.generation;
    state.hostTaskQueue = taskQueue;
    await activities.engine.startEngineSession({ sessionId: state.sessionId, workflowId, generation, pairingPhoneNumber: input.pairingPhoneNumber ?? null });
    host = { taskQueue, generation, activities };
    reconnectDeadline = state.status === 'disconnected' ? Date.now() + timings.readyTimeoutMs : null;
    const watching = host;
    // Not awaited: the watch runs beside the event loop and only reports when the host goes away.
    void CancellationScope.nonCancellable(() => activities.watch.watchEngineSession({ sessionId: state.sessionId, generation })).then(
      () => { if (host === watching) hostLost = true; },
      () => { if (host === watching) hostLost = true; },
    );
  };
  /** Stops this account's engine client; `logout` also unlinks the device on the phone. A dead host needs neither. */
  const teardown = async (logout: boolean) => {
    const attached = host;
    host = null;
    readyDeadline = null;
    reconnectDeadline = null;
    if (!attached) return;
    try {
      if (logout) await attached.activities.engine.logoutEngineSession({ sessionId: state.sessionId });
      else await attached.activities.engine.destroyEngineSession({ sessionId: state.sessionId });
    } catch {
      // The host is gone, and its clients with it.
    }
  };
  const scheduleReconnect = async (reason: string) => {
    state.reconnectAttempts += 1;
    if (state.reconnectAttempts > timings.reconnectMaxAttempts) {
      await finish({ status: 'failed', reason: reason === 'engine_start_failed' ? reason : `reconnect_failed:${reason}`, eventType: 'session_failed', logout: false, forgetAuth: false, softDelete: false });
      return;
    }
    const exponential = Math.min(timings.reconnectMaxDelayMs, timings.reconnectBaseDelayMs * 2 ** (state.reconnectAttempts - 1));
    // Jitter spreads the reconnects of many accounts after one outage.
    reconnectAt = Date.now() + Math.round(exponential * (0.5 + Math.random() * 0.5));
  };
  const finish = async (ending: { status: 'disconnected' | 'failed'; reason: string; eventType: string; logout: boolean; forgetAuth: boolean; softDelete: boolean }) => {
    await teardown(ending.logout);
    if (ending.forgetAuth) await writes.forgetEngineAuth({ sessionId: state.sessionId });
    const status = ending.status === 'disconnected' && !everConnected() ? 'failed' : ending.status;
    const snapshot = await writes.endAccount({ sessionId: state.sessionId, status, reason: ending.reason, eventType: ending.eventType, softDelete: ending.softDelete, dedupeKey: nextKey() });
    state.failureReason = ending.reason;
    await follow(snapshot);
    state.ended = true;
    reconnectAt = null;
  };
  const everConnected = () => state.status === 'connected' || state.status === 'disconnected';

  const handleEvent = async ({ event, emittedAt, ownPhone }: EngineEventEnvelope) => {
    switch (event.type) {
      case 'qr':
      case 'pairing_code':
        if (state.status === 'qr_scanning') {
          await recordCode(event.type, event.type === 'qr' ? event.qr : event.code, emittedAt);
        } else {
          // A session that was logged in asks for a new login: its saved login no longer works. Only a new scan
          // (a new account) can bring it back, so it ends here, with the reason, instead of waiting forever.
          await finish({ status: 'disconnected', reason: 'login_lost', eventType: 'logged_out', logout: false, forgetAuth: true, softDelete: false });
        }
        return;
      case 'authenticated':
        everAuthenticated = true;
        authenticatedAt = Date.now();
        readyDeadline = Date.now() + timings.readyTimeoutMs;
        if (state.status === 'qr_scanning') await moveTo('authenticated', 'authenticated');
        return;
      case 'ready':
        readyDeadline = null;
        await connect(ownPhone);
        return;
      case 'auth_failure':
        await finish({ status: 'failed', reason: `auth_failure:${event.reason}`, eventType: 'session_failed', logout: false, forgetAuth: true, softDelete: false });
        return;
      case 'disconnected':
        switch (event.kind) {
          case 'logout':
            await finish({ status: 'disconnected', reason: 'logged_out_from_phone', eventType: 'logged_out', logout: false, forgetAuth: true, softDelete: false });
            return;
          case 'banned':
            await finish({ status: 'failed', reason: `banned:${event.reason}`, eventType: 'session_failed', logout: false, forgetAuth: true, softDelete: false });
            return;
          case 'transient':
          case 'conflict':
            // The saved auth stays: the session comes back without a scan.
            await teardown(false);
            if (state.status === 'connected') await moveTo('disconnected', 'disconnected', event.kind === 'conflict' ? 'conflict' : `transient:${event.reason}`);
            await scheduleReconnect(event.kind === 'conflict' ? 'conflict' : event.reason);
            return;
        }
    }
  };

  /**
   * `ready`: the own phone number (sent with `ready` when the host could read it at once, else extracted on the host
   * with retries), then activate in one transaction. Never connected without a phone.
   */
  const connect = async (ownPhone: EngineEventEnvelope['ownPhone']) => {
    const attached = host;
    if (!attached) return;
    let identity: { phoneNumber: string; pushName: string | null };
    const extractionStartedAt = Date.now();
    try {
      identity = ownPhone ?? (await attached.activities.extraction.extractPhone({ sessionId: state.sessionId, generation: attached.generation }));
    } catch (error) {
      const reason = failureReason(error, 'phone_extraction_failed');
      // No host took the task (the process holding the session died) or the host no longer has it: the session is
      // lost, not the phone number. Bring it up again elsewhere from the saved login.
      if (reason === 'SessionNotOnHost' || reason === HOST_NEVER_ANSWERED) {
        hostLost = true;
        return;
      }
      await finish({ status: 'failed', reason: `phone_extraction_failed:${reason}`, eventType: 'session_failed', logout: true, forgetAuth: true, softDelete: false });
      return;
    }
    const timings: Record<string, number> = { phoneExtractionMs: ownPhone ? ownPhone.readInMs : Date.now() - extractionStartedAt };
    if (authenticatedAt !== null) timings.scanToConnectedMs = Date.now() - authenticatedAt;
    authenticatedAt = null;
    const result = await writes.activateAccount({ sessionId: state.sessionId, phoneNumber: identity.phoneNumber, pushName: identity.pushName, dedupeKey: nextKey(), timings });
    if (result.status === 'connected') {
      reconnectDeadline = null;
      state.phoneNumber = identity.phoneNumber;
      state.pushName = identity.pushName;
      state.failureReason = null;
      state.reconnectAttempts = 0;
    }
    await follow(result);
    if (state.ended) {
      await teardown(true);
      return;
    }
    for (const sessionId of result.releasedSessionIds) {
      // The older accounts' workflows stop their clients; their rows are already released.
      await getExternalWorkflowHandle(accountWorkflowId(sessionId)).signal(supersededSignal, { bySessionId: state.sessionId }).catch(() => undefined);
    }
  };

  const handleCommand = async (command: Command) => {
    switch (command.type) {
      case 'delete':
        await finish({ status: 'disconnected', reason: command.reason, eventType: 'session_deleted', logout: true, forgetAuth: true, softDelete: true });
        return;
      case 'logout':
        await finish({ status: 'disconnected', reason: command.reason, eventType: 'logged_out', logout: true, forgetAuth: true, softDelete: false });
        return;
      case 'restart':
        await teardown(false);
        if (state.status === 'connected') await moveTo('disconnected', 'disconnected', command.reason);
        state.reconnectAttempts = 0;
        reconnectAt = Date.now();
        return;
      case 'superseded':
        // The activation that took the phone already wrote this row; only the client is left to stop.
        await teardown(true);
        await writes.forgetEngineAuth({ sessionId: state.sessionId });
        state.status = 'failed';
        state.failureReason = `phone_moved_to_session:${command.bySessionId}`;
        upsertSearchAttributes([{ key: accountStatusKey, value: 'failed' }]);
        state.ended = true;
        return;
    }
  };

  const handleHostLost = async () => {
    hostLost = false;
    host = null;
    log.warn('host lost; moving the session to another host', { sessionId: state.sessionId, hostTaskQueue: state.hostTaskQueue });
    if (state.status === 'connected') await moveTo('disconnected', 'disconnected', 'host_lost');
    reconnectAt = Date.now();
  };

  if (!carried) {
    upsertSearchAttributes([
      { key: workspaceIdKey, value: input.workspaceId },
      { key: accountStatusKey, value: state.status },
    ]);
    await moveTo('qr_scanning', 'session_created');
  } else if (state.hostTaskQueue && !state.ended) {
    // A continued run takes over the same engine session on the same host (the start is idempotent).
    try {
      await attach(state.hostTaskQueue);
    } catch {
      hostLost = true;
    }
  }

  while (!state.ended) {
    if (!host && reconnectAt === null && !hostLost) {
      await bringUpSession();
      continue;
    }
    const qrDeadline = state.status === 'qr_scanning' ? startedAt + timings.qrExpiryMs : null;
    const deadlines = [qrDeadline, readyDeadline, reconnectAt, reconnectDeadline].filter((d): d is number => d !== null);
    const nextDeadline = deadlines.length ? Math.min(...deadlines) : null;
    const waitMs = nextDeadline === null ? null : nextDeadline - Date.now();
    if (waitMs === null || waitMs > 0) {
      const woken = () => events.length > 0 || commands.length > 0 || pairingRequests.length > 0 || hostLost;
      if (waitMs === null) await condition(woken);
      else await condition(woken, waitMs);
    }

    const command = commands.shift();
    if (command) {
      await handleCommand(command);
    } else if (hostLost) {
      await handleHostLost();
    } else if (pairingRequests.length > 0) {
      await answerPairingRequest(pairingRequests.shift() as PairingRequest);
    } else if (events.length > 0) {
      const envelope = events.shift() as EngineEventEnvelope;
      if (envelope.generation === state.generation && host) await handleEvent(envelope);
      handledEvents += 1;
    } else if (qrDeadline !== null && Date.now() >= qrDeadline) {
      await finish({ status: 'failed', reason: 'qr_expired', eventType: 'session_failed', logout: false, forgetAuth: true, softDelete: false });
    } else if (readyDeadline !== null && Date.now() >= readyDeadline) {
      // Stuck in `authenticated` (the seed's incident 6): restart once with the saved auth, then give up with a reason.
      readyDeadline = null;
      readyRestarts += 1;
      if (readyRestarts > 1) {
        await finish({ status: 'failed', reason: 'ready_timeout', eventType: 'session_failed', logout: true, forgetAuth: true, softDelete: false });
      } else {
        await teardown(false);
        reconnectAt = Date.now();
      }
    } else if (reconnectAt !== null && Date.now() >= reconnectAt) {
      reconnectAt = null;
    } else if (reconnectDeadline !== null && Date.now() >= reconnectDeadline) {
      // The client came up but never logged back in (a start that failed silently, a page that hung).
      await teardown(false);
      await scheduleReconnect('reconnect_timeout');
    }

    const quiet = !state.ended && host !== null && commands.length === 0 && pairingRequests.length === 0 && reconnectAt === null && readyDeadline === null && reconnectDeadline === null && !hostLost;
    const historyIsLong = workflowInfo().continueAsNewSuggested || (input.continueAsNewAfterEvents !== undefined && handledEvents >= input.continueAsNewAfterEvents);
    if (quiet && historyIsLong) {
      // A pairing-code request that arrives meanwhile waits for the loop: answer it first, continue later.
      await condition(() => allHandlersFinished() || pairingRequests.length > 0);
      // Signals that arrived meanwhile are in `events`/`commands`; carry them so none is lost.
      if (commands.length === 0 && pairingRequests.length === 0) {
        await continueAsNew<typeof accountConnection>({
          ...input,
          carried: { state, pendingEvents: events, startedAt, everAuthenticated },
        });
      }
    }
  }
  for (const request of pairingRequests.splice(0)) request.outcome = { refusal: 'the account has ended', type: 'AccountEnded' };
  await condition(allHandlersFinished);
  return state;
}

/** The failure's type (ApplicationFailure) or a timeout's kind: what a person reads in `failure_reason`. */
function failureReason(error: unknown, fallback: string): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type) return cause.type;
  if (cause && typeof cause === 'object' && 'timeoutType' in cause) return `timeout_${String((cause as { timeoutType: unknown }).timeoutType)}`;
  return fallback;
}

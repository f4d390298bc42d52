import { condition, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { isPhoneNumber, PHONE_NUMBER_RULE } from '../domain/phone-number.js';
import { sessionKey } from '../domain/session-key.js';
import type { SessionEvent } from '../engine/types.js';
import { AccountEffects } from './account-effects.js';
import { hasMail, newInbox, takeNextInput, type Inbox } from './account-inbox.js';
import type { AccountInput, Command } from './account-inputs.js';
import {
  newAccountState,
  type AccountConnectionInput,
  type AccountConnectionState,
  type AccountWorkflowState,
  type CarriedState,
} from './account-state.js';
import type { AccountSettings } from '../domain/account-timings.js';
import { pairingRefusal, takesPairingRequests, transition } from './account-transitions.js';
import { msUntilNextDeadline } from './deadlines.js';
import { PairingRequests } from './pairing-requests.js';
import { accountStatusKey, statusChangedAtKey, workspaceIdKey } from './search-attributes.js';
import { SessionLink } from './session-link.js';

/**
 * One account's connection as a state machine, and the only owner of its state. Handlers only queue what arrives
 * (workflows/account-inbox.ts); `step` takes the next input, has `transition` decide the next state and the effects,
 * and carries the effects out in order, so every write and every activity runs from the one loop, in an order replay
 * reproduces. Outside this class the state is only read (the state query, the update's validator).
 */
export class AccountMachine {
  private current: AccountWorkflowState;
  private readonly inbox: Inbox;
  private readonly pairingRequests = new PairingRequests();
  private readonly effects: AccountEffects;
  /** Engine events this run has handled: a long history asks for a continue-as-new. */
  private handledEvents = 0;

  constructor(
    private readonly input: AccountConnectionInput,
    private readonly settings: AccountSettings,
  ) {
    this.current = input.carried?.state ?? newAccountState(input, Date.now());
    this.inbox = newInbox(input.carried?.pendingEvents);
    const { workflowId, firstExecutionRunId } = workflowInfo();
    const key = sessionKey(input.workspaceId, input.sessionId);
    const session = new SessionLink(
      key,
      workflowId,
      firstExecutionRunId,
      settings.timings,
      input.pairingPhoneNumber ?? null,
      (report) =>
        report.type === 'watchEnded' ? this.inbox.hostReports.push(report) : this.inbox.placementAnswers.push(report),
      (events) => this.inbox.events.unshift(...events.filter((event) => event.generation === this.state.generation)),
    );
    const ids = {
      workflowId,
      firstExecutionRunId,
      workspaceId: input.workspaceId,
      sessionId: input.sessionId,
      sessionKey: key,
    };
    this.effects = new AccountEffects(ids, session, this.pairingRequests);
  }

  /** The account as the workflow last wrote it. */
  get state(): AccountConnectionState {
    return this.current.account;
  }

  // ---- What arrives (signal and update handlers): queued for the loop.

  receiveEvent(event: SessionEvent): void {
    // A run started after an operator terminated the one before counts its generations from 1 again: the earlier
    // run's client, until its host stops it, sends events of the same generations.
    if (event.accountRun !== undefined && event.accountRun !== workflowInfo().firstExecutionRunId) return;
    if (event.generation === this.state.generation) this.inbox.events.push(event);
  }

  receiveHostGone(hostTaskQueue: string): void {
    this.inbox.hostReports.push({ type: 'hostGone', hostTaskQueue });
  }

  receiveCommand(command: Command): void {
    this.inbox.commands.push(command);
  }

  validatePairingRequest(phoneNumber: unknown): void {
    AccountMachine.validatePairingNumber(phoneNumber);
    if (!takesPairingRequests(this.current)) throw new Error(pairingRefusal(this.current));
  }

  /** What a pairing-code request must hold whatever the account's state. */
  static validatePairingNumber(phoneNumber: unknown): asserts phoneNumber is string {
    if (!isPhoneNumber(phoneNumber)) throw new Error(`phoneNumber must be ${PHONE_NUMBER_RULE}`);
  }

  requestPairingCode(phoneNumber: string): Promise<{ code: string }> {
    return this.pairingRequests.ask(phoneNumber, (requestId) =>
      this.inbox.pairingRequests.push({ type: 'pairingRequested', requestId, phoneNumber }),
    );
  }

  // ---- The loop.

  /** The first run creates the row; a continued run takes over the same session on the same host. */
  async begin(): Promise<void> {
    if (this.input.carried) return this.apply({ type: 'resumed' });
    upsertSearchAttributes([
      { key: workspaceIdKey, value: this.state.workspaceId },
      { key: accountStatusKey, value: this.state.status },
      { key: statusChangedAtKey, value: new Date() },
    ]);
    await this.apply({ type: 'started' });
  }

  async step(): Promise<void> {
    let input = takeNextInput(this.current, this.inbox, Date.now());
    if (!input) {
      const waitMs = msUntilNextDeadline(this.current.deadlines, Date.now());
      const woken = () => hasMail(this.inbox);
      if (waitMs === null) await condition(woken);
      else await condition(woken, waitMs);
      input = takeNextInput(this.current, this.inbox, Date.now());
    }
    if (!input) return;
    if (input.type === 'engineEvent') this.handledEvents += 1;
    if (input.type !== 'pairingRequested') return this.apply(input);
    try {
      await this.apply(input);
    } catch (error) {
      this.effects.refusePairing(input.requestId, error);
    }
  }

  /** One input through `transition`; then its effects in order, each outcome handled before the next effect. */
  private async apply(input: AccountInput): Promise<void> {
    const { state, effects } = transition(this.current, input, {
      now: Date.now(),
      random: Math.random(),
      timings: this.settings.timings,
    });
    const statusChanged = state.account.status !== this.current.account.status;
    this.current = state;
    if (statusChanged) {
      upsertSearchAttributes([
        { key: accountStatusKey, value: state.account.status },
        { key: statusChangedAtKey, value: new Date() },
      ]);
    }
    for (const effect of effects) {
      const outcome = await this.effects.run(effect);
      if (outcome) await this.apply(outcome);
    }
  }

  /** Long history and nothing in flight: the next run can take over with just the state and the queued events. */
  wantsContinueAsNew(): boolean {
    const { continueAsNewAfterEvents } = this.settings;
    const historyIsLong =
      workflowInfo().continueAsNewSuggested ||
      (continueAsNewAfterEvents !== null && this.handledEvents >= continueAsNewAfterEvents);
    const { host, deadlines, account } = this.current;
    const quiet =
      host.phase === 'attached' &&
      this.inbox.hostReports.length === 0 &&
      this.inbox.placementAnswers.length === 0 &&
      !this.hasQueuedRequests();
    const waiting =
      deadlines.reconnectAt !== undefined ||
      deadlines.readyBy !== undefined ||
      deadlines.reconnectBy !== undefined ||
      deadlines.moveNotice !== undefined;
    return historyIsLong && !account.ended && quiet && !waiting;
  }

  hasQueuedRequests(): boolean {
    return this.inbox.commands.length > 0 || this.inbox.pairingRequests.length > 0;
  }

  carryOver(): CarriedState {
    return { state: this.current, pendingEvents: [...this.inbox.events] };
  }

  /**
   * A delete that came as the account ended (a logout, a failure) is still carried out: the API answered it, so the
   * row is hidden and the login gone, although the account is already over.
   */
  async finishQueuedDeletes(): Promise<void> {
    const deleted = this.inbox.commands.find((command) => command.type === 'delete');
    this.inbox.commands.length = 0;
    if (deleted) await this.apply({ type: 'command', command: deleted });
  }

  /** The account has ended: requests still queued get a plain refusal instead of waiting forever. */
  refuseQueuedRequests(): void {
    this.pairingRequests.refuseAll('the account has ended', 'AccountEnded');
  }
}

import { condition, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { isPhoneNumber, PHONE_NUMBER_RULE } from '../domain/phone-number.js';
import type { SessionEvent } from '../engine/types.js';
import { AccountRecord } from './account-record.js';
import {
  DEFAULT_TIMINGS,
  newAccountState,
  type AccountConnectionInput,
  type AccountConnectionState,
  type AccountTimings,
  type CarriedState,
} from './account-state.js';
import { AccountTransitions, type Command } from './account-transitions.js';
import { Deadlines } from './deadlines.js';
import { PairingRequests } from './pairing-requests.js';
import { sessionKey } from '../domain/session-key.js';
import { accountStatusKey, statusChangedAtKey, workspaceIdKey } from './search-attributes.js';
import { SessionLink } from './session-link.js';

/**
 * One account's connection as a state machine. Handlers only queue what arrives; `step` waits for the next thing
 * (a command, a lost host, a pairing-code request, an engine event, a deadline) and handles it, so every write and
 * every activity runs from the one loop, in an order replay reproduces.
 */
export class AccountMachine {
  readonly state: AccountConnectionState;
  private readonly timings: AccountTimings;
  private readonly startedAt: number;
  private readonly record: AccountRecord;
  private readonly session: SessionLink;
  private readonly deadlines = new Deadlines();
  private readonly events: SessionEvent[];
  private readonly commands: Command[] = [];
  private readonly pairingRequests = new PairingRequests();
  private readonly transitions: AccountTransitions;
  private handledEvents = 0;

  constructor(private readonly input: AccountConnectionInput) {
    this.timings = { ...DEFAULT_TIMINGS, ...input.timings };
    const carried = input.carried;
    this.state = carried?.state ?? newAccountState(input);
    this.events = [...(carried?.pendingEvents ?? [])];
    this.startedAt = carried?.startedAt ?? Date.now();
    const workflowId = workflowInfo().workflowId;
    this.record = new AccountRecord(this.state, workflowId, this.startedAt);
    this.session = new SessionLink(
      sessionKey(input.workspaceId, input.sessionId),
      workflowId,
      this.timings,
      input.pairingPhoneNumber ?? null,
    );
    if (this.state.status === 'qr_scanning') this.deadlines.set('qrExpiry', this.startedAt + this.timings.qrExpiryMs);
    this.transitions = new AccountTransitions({
      state: this.state,
      timings: this.timings,
      record: this.record,
      session: this.session,
      deadlines: this.deadlines,
      events: this.events,
    });
  }

  // ---- What arrives (signal and update handlers): queued for the loop.

  receiveEvent(event: SessionEvent): void {
    if (event.generation === this.state.generation) this.events.push(event);
  }

  receiveHostGone(hostTaskQueue: string): void {
    this.session.hostGone(hostTaskQueue);
  }

  receiveCommand(command: Command): void {
    this.commands.push(command);
  }

  validatePairingRequest(phoneNumber: unknown): void {
    if (!isPhoneNumber(phoneNumber)) throw new Error(`phoneNumber must be ${PHONE_NUMBER_RULE}`);
    if (!this.transitions.takesPairingRequests()) throw new Error(this.transitions.pairingRefusal());
  }

  requestPairingCode(phoneNumber: string): Promise<{ code: string }> {
    return this.pairingRequests.ask(phoneNumber);
  }

  // ---- The loop.

  /** The first run creates the row; a continued run takes over the same session on the same host. */
  async begin(): Promise<void> {
    if (!this.input.carried) {
      upsertSearchAttributes([
        { key: workspaceIdKey, value: this.state.workspaceId },
        { key: accountStatusKey, value: this.state.status },
        { key: statusChangedAtKey, value: new Date() },
      ]);
      await this.record.moveTo('qr_scanning', 'session_created');
    } else if (this.state.hostTaskQueue && !this.state.ended) {
      await this.session.attach(this.state.hostTaskQueue, this.state.generation).catch(() => {
        this.session.lost = true;
      });
    }
  }

  async step(): Promise<void> {
    const idle = !this.session.attached && !this.session.askingForHost && !this.session.hostAnswered;
    if (idle && !this.deadlines.has('reconnectAt') && !this.session.lost) return this.transitions.askForHost();
    if (this.state.status !== 'qr_scanning') this.deadlines.clear('qrExpiry');
    const waitMs = this.deadlines.msUntilNext(Date.now());
    const woken = () =>
      this.commands.length > 0 ||
      this.session.lost ||
      this.session.hostAnswered ||
      this.pairingRequests.length > 0 ||
      this.events.length > 0;
    if (waitMs === null) await condition(woken);
    else if (waitMs > 0) await condition(woken, waitMs);

    const command = this.commands.shift();
    if (command) return this.transitions.command(command);
    if (this.session.lost) return this.transitions.hostLost();
    if (this.session.hostAnswered) return this.transitions.hostAnswered();
    if (this.pairingRequests.length > 0) {
      return this.pairingRequests.answerNext((phoneNumber) => this.transitions.pairingCode(phoneNumber));
    }
    const event = this.events.shift();
    if (event) {
      this.handledEvents += 1;
      if (event.generation === this.state.generation && this.session.attached) await this.transitions.event(event);
      return;
    }
    const due = this.deadlines.takeDue(Date.now());
    if (due) await this.transitions.deadline(due);
  }

  /** Long history and nothing in flight: the next run can take over with just the state and the queued events. */
  wantsContinueAsNew(): boolean {
    const historyIsLong =
      workflowInfo().continueAsNewSuggested ||
      (this.input.continueAsNewAfterEvents !== undefined && this.handledEvents >= this.input.continueAsNewAfterEvents);
    const quiet =
      this.session.attached && !this.session.lost && this.commands.length === 0 && this.pairingRequests.length === 0;
    const waiting =
      this.deadlines.has('reconnectAt') || this.deadlines.has('readyBy') || this.deadlines.has('reconnectBy');
    return historyIsLong && !this.state.ended && quiet && !waiting;
  }

  hasQueuedRequests(): boolean {
    return this.commands.length > 0 || this.pairingRequests.length > 0;
  }

  carryOver(): CarriedState {
    return { state: this.state, pendingEvents: this.events, startedAt: this.startedAt };
  }

  /** The account has ended: requests still queued get a plain refusal instead of waiting forever. */
  refuseQueuedRequests(): void {
    this.pairingRequests.refuseAll('the account has ended', 'AccountEnded');
  }
}

import { CancellationScope, log } from '@temporalio/workflow';
import { failureReason, hostActivities, leaseRequests, placement } from './account-activities.js';
import type { AccountInput } from './account-inputs.js';
import type { AccountTimings } from '../domain/account-timings.js';
import type { LoggedInIdentity, SessionEvent } from '../engine/types.js';

type HostReport = Extract<AccountInput, { type: 'watchEnded' | 'placementAnswered' | 'placementFailed' }>;

/**
 * The calls to the engine session's host: asking the placement queue for a host, starting, watching and stopping
 * the client, reading the phone number, asking for a pairing code. It keeps no state of the account's: which host
 * runs which generation is the account machine's to know, and what happens in the background (a host answers, a
 * watch ends) is reported to its inbox, with the generation it is about.
 */
export class SessionLink {
  private placementScope: CancellationScope | null = null;

  constructor(
    private readonly sessionId: string,
    private readonly workflowId: string,
    /** The account's first run: with the generation, which client of which account a host runs. */
    private readonly accountRun: string,
    private readonly timings: AccountTimings,
    private readonly pairingPhoneNumber: string | null,
    private readonly report: (report: HostReport) => void,
    /** The events of a start, which its answer brings instead of signals: older than any signalled since. */
    private readonly receiveStartEvents: (events: SessionEvent[]) => void,
  ) {}

  /**
   * Asks the placement queue for a host with a free seat, without waiting: the account's loop keeps handling commands
   * (a delete while waiting for room) and deadlines until a host answers.
   */
  askForHost(generation: number): void {
    const scope = new CancellationScope();
    this.placementScope = scope;
    const answered = () => {
      if (this.placementScope === scope) this.placementScope = null;
    };
    scope
      .run(() => placement().claimHost({ sessionId: this.sessionId }))
      .then(
        ({ taskQueue }) => {
          answered();
          this.report({ type: 'placementAnswered', generation, taskQueue });
        },
        (error: unknown) => {
          answered();
          this.report({ type: 'placementFailed', generation, reason: failureReason(error, 'engine_start_failed') });
        },
      );
  }

  /** Withdraws a request no host has answered: the account ends or restarts before it is placed. */
  stopAsking(): void {
    this.placementScope?.cancel();
    this.placementScope = null;
  }

  /** Starts (or, after a continue-as-new, takes over: the start is idempotent) the session, and watches it. */
  async start(taskQueue: string, generation: number): Promise<void> {
    const activities = hostActivities(taskQueue, this.timings);
    const { events } = await activities.engine.startEngineSession({
      sessionId: this.sessionId,
      owner: this.workflowId,
      accountRun: this.accountRun,
      generation,
      pairingPhoneNumber: this.pairingPhoneNumber,
    });
    this.receiveStartEvents(events);
    // Not awaited: the watch runs beside the account's loop and only reports when the host goes away (its heartbeat
    // failed: the host may still be alive) or stopped the client itself.
    void CancellationScope.nonCancellable(() =>
      activities.watch.watchEngineSession({ sessionId: this.sessionId, generation }),
    ).then(
      () => this.report({ type: 'watchEnded', taskQueue, generation, failed: false }),
      () => this.report({ type: 'watchEnded', taskQueue, generation, failed: true }),
    );
  }

  /**
   * Stops the client of this generation on its host. A host that did not take the stop through its task queue is
   * gone, or alive but out of Temporal's reach: the stop is then written on the session's lease, which such a host
   * still renews and reads (a gone host's lease lapses, its client with it).
   */
  async stop(taskQueue: string, generation: number, options: { logout: boolean; forgetLogin: boolean }): Promise<void> {
    try {
      await hostActivities(taskQueue, this.timings).engine.stopEngineSession({ sessionId: this.sessionId, ...options });
    } catch {
      const request = {
        sessionId: this.sessionId,
        accountRun: this.accountRun,
        throughGeneration: generation,
        ...options,
      };
      // Past the write's own retries the account goes on: a host that is gone has nothing to stop, and its lease lapses.
      await leaseRequests.askHostToStop(request).catch((error: unknown) =>
        log.warn('could not write the stop on the session lease', {
          sessionId: this.sessionId,
          error: String(error),
        }),
      );
    }
  }

  /** Reads who logged in on the host, retried within the extraction budget. */
  extractPhone(taskQueue: string, generation: number): Promise<LoggedInIdentity> {
    return hostActivities(taskQueue, this.timings).extraction.extractPhone({ sessionId: this.sessionId, generation });
  }

  async requestPairingCode(taskQueue: string, generation: number, phoneNumber: string): Promise<string> {
    const { code } = await hostActivities(taskQueue, this.timings).engine.requestEnginePairingCode({
      sessionId: this.sessionId,
      generation,
      phoneNumber,
    });
    return code;
  }
}

import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import { hostActivities, placement, type HostActivityProxies } from './account-activities.js';
import type { AccountTimings } from './account-state.js';

/** Where the request for a host stands; the account's loop goes on meanwhile. */
type HostRequest =
  | { state: 'none' }
  | { state: 'asking'; scope: CancellationScope }
  | { state: 'answered'; taskQueue: string }
  | { state: 'refused'; error: unknown };

interface AttachedHost {
  taskQueue: string;
  generation: number;
  activities: HostActivityProxies;
}

/**
 * The account's link to the engine session on its host: which host runs which generation of the client, what says the
 * host is gone (another host that saw its leases lapse, or, as a backstop, the watch's heartbeat), and the host-queue
 * calls. The account workflow decides; this only carries out.
 */
export class SessionLink {
  private host: AttachedHost | null = null;
  /** Set when the host running the current generation died or lost the session. */
  lost = false;
  /**
   * Set with `lost` when only the watch failed (its heartbeat timed out): the host may be alive, its client running
   * and its lease renewed, so it is asked to stop the client before the session moves.
   */
  private lostUnsure = false;
  private request: HostRequest = { state: 'none' };

  constructor(
    private readonly sessionId: string,
    private readonly workflowId: string,
    private readonly timings: AccountTimings,
    private readonly pairingPhoneNumber: string | null,
  ) {}

  get attached(): boolean {
    return this.host !== null;
  }

  get askingForHost(): boolean {
    return this.request.state === 'asking';
  }

  /** A host answered the request (or it failed): `takeHostAnswer` has it. */
  get hostAnswered(): boolean {
    return this.request.state === 'answered' || this.request.state === 'refused';
  }

  /**
   * Asks the placement queue for a host with a free seat, without waiting: the account's loop keeps handling commands
   * (a delete while waiting for room) and deadlines until a host answers.
   */
  askForHost(): void {
    const scope = new CancellationScope();
    const asking: HostRequest = { state: 'asking', scope };
    this.request = asking;
    scope
      .run(() => placement().claimHost({ sessionId: this.sessionId }))
      .then(
        ({ taskQueue }) => {
          if (this.request === asking) this.request = { state: 'answered', taskQueue };
        },
        (error: unknown) => {
          if (this.request === asking) this.request = { state: 'refused', error };
        },
      );
  }

  /** The host that answered (its queue), or throws what made the request fail. */
  takeHostAnswer(): string {
    const answer = this.request;
    this.request = { state: 'none' };
    if (answer.state === 'answered') return answer.taskQueue;
    if (answer.state === 'refused') throw answer.error;
    throw ApplicationFailure.nonRetryable('no host has answered yet', 'NoHostAnswer');
  }

  /** Withdraws a request no host has answered: the account ends or restarts before it is placed. */
  stopAsking(): void {
    if (this.request.state === 'asking') this.request.scope.cancel();
    this.request = { state: 'none' };
  }

  /** Starts (or, after a continue-as-new, takes over: the start is idempotent) the session on a known host. */
  async attach(taskQueue: string, generation: number): Promise<void> {
    this.host = null;
    const activities = hostActivities(taskQueue, this.timings);
    await activities.engine.startEngineSession({
      sessionId: this.sessionId,
      owner: this.workflowId,
      generation,
      pairingPhoneNumber: this.pairingPhoneNumber,
    });
    const watching: AttachedHost = { taskQueue, generation, activities };
    this.host = watching;
    const markLost = (unsure: boolean) => {
      if (this.host !== watching) return;
      this.lost = true;
      this.lostUnsure = unsure;
    };
    // Not awaited: the watch runs beside the account's loop and only reports when the host goes away.
    void CancellationScope.nonCancellable(() =>
      activities.watch.watchEngineSession({ sessionId: this.sessionId, generation }),
    ).then(
      () => markLost(false),
      () => markLost(true),
    );
  }

  /** Another host saw this one stop renewing its leases: if it runs the current session, the session is lost. */
  hostGone(taskQueue: string): void {
    if (this.host?.taskQueue !== taskQueue) return;
    this.lost = true;
    this.lostUnsure = false;
  }

  /**
   * Lets go of a lost host. Gone for sure (its leases lapsed, or it stopped the client itself): forgotten. Only its
   * watch failed: asked to stop the client first (best effort, bounded by the host queue's schedule-to-start), or
   * it would keep the session's lease and no other host could ever start it.
   */
  async letGo(): Promise<void> {
    const unsure = this.lostUnsure;
    this.lostUnsure = false;
    if (unsure) {
      this.lost = false;
      await this.stop({ logout: false, forgetLogin: false });
      return;
    }
    this.detach();
  }

  /** Forgets the host without calling it: it is gone, and its clients with it. */
  detach(): void {
    this.host = null;
    this.lost = false;
    this.lostUnsure = false;
  }

  /** Stops the client on its host, if any; a host that is gone needs nothing. */
  async stop(options: { logout: boolean; forgetLogin: boolean }): Promise<void> {
    this.stopAsking();
    const attached = this.host;
    this.host = null;
    if (!attached) return;
    try {
      await attached.activities.engine.stopEngineSession({ sessionId: this.sessionId, ...options });
    } catch {
      // The host is gone, and its clients with it.
    }
  }

  /** Reads the own phone number on the host, retried within the extraction budget. */
  async extractPhone(): Promise<{ phoneNumber: string; pushName: string | null }> {
    const attached = this.require();
    return attached.activities.extraction.extractPhone({ sessionId: this.sessionId, generation: attached.generation });
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    const attached = this.require();
    const { code } = await attached.activities.engine.requestEnginePairingCode({
      sessionId: this.sessionId,
      generation: attached.generation,
      phoneNumber,
    });
    return code;
  }

  private require(): AttachedHost {
    if (this.host) return this.host;
    throw ApplicationFailure.nonRetryable('the session is between hosts; try again in a moment', 'SessionUnavailable');
  }
}

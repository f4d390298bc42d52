import type { SessionProxy } from '../domain/proxy-setting.js';
import type { Logger } from '../lib/logger.js';
import { DrainPace } from './drain-pace.js';
import type { HostLeases } from './host-leases.js';
import { readOwnPhone } from './own-phone.js';
import type { Engine, EngineEvent, EngineSession, SessionEvent } from './types.js';
import { settlesWithin } from '../lib/settles-within.js';

/** A start that a stop overtook: the client it made (if any) is destroyed and its lease given up. */
export class SessionStoppedWhileStarting extends Error {
  override readonly name = 'SessionStoppedWhileStarting';
  constructor(sessionId: string) {
    super(`session ${sessionId} was stopped on this host while it was starting`);
  }
}

/** How long `ready` waits for its one look at the own phone number before it goes out without it. */
const READY_PHONE_READ_BUDGET_MS = 2_000;

/**
 * How long a start waits for the session's first event its owner acts on (a QR, a pairing code, `ready`, a failure)
 * to answer with it; past this it answers without, and the events go out as they come.
 */
const START_EVENTS_WAIT_MS = 15_000;

/**
 * How long a restart waits for its owner to be told before it stops the client (a signal through Temporal): short,
 * since the upkeep round that restarts a session waits for it.
 */
const RESTART_NOTICE_WAIT_MS = 2_000;

/**
 * Where a host's session events go. `unwanted` means nobody follows the session any more: the host stops its client.
 * The sink does its own retrying; a throw means the event could not be delivered at all.
 */
export type SessionEventSink = (owner: string, event: SessionEvent) => Promise<'delivered' | 'unwanted'>;

interface HostedSession {
  generation: number;
  /** The account run it was started for (StartSession's): a generation counts within one run only. */
  accountRun: string | null;
  /** The epoch of the lease this client runs under, once taken (null: none yet, or a host without leases). */
  epoch: number | null;
  /** Who started the session and hears its events (the sink's address for it). */
  owner: string;
  session: EngineSession | null;
  /** The engine's start of the client: an event it emits before its start has returned waits for it. */
  engineStart: Promise<EngineSession> | null;
  /** Resolves when the session is destroyed on this host. */
  gone: Promise<void>;
  markGone: () => void;
  /** Engine events go out one after another, so the owner sees them in the order the engine emitted them. */
  outbox: Promise<void>;
  /**
   * While the start is under way, the events are kept here and answered with the start instead of sent: each event
   * sent then would cost the owner a turn of its own, before the start's answer that it needs anyway.
   */
  heldEvents: SessionEvent[] | null;
  /** Resolves when a held event is one the owner acts on: the start answers at once. */
  settled: Promise<void>;
  markSettled: () => void;
  /** The start's answer while it is under way: a repeated start of the same generation (a retry) waits for it. */
  starting: Promise<SessionEvent[]> | null;
  /**
   * Resolves when the start has its client, or has given up and undone what it made (a failure, or a stop that came
   * while it took the lease or started the engine).
   */
  launched: Promise<void>;
  markLaunched: () => void;
  /** Between `ready` and the next event that takes the session down or back to a login. */
  ready: boolean;
  /** When the engine last emitted an event for this client (ms): a session that has been quiet can be restarted. */
  lastEventAt: number;
}

/** A session the host has seen turn ready, as its periodic check looks at it. */
export interface ReadySession {
  sessionId: string;
  generation: number;
  session: EngineSession;
  lastEventAt: number;
}

export interface StartSession {
  sessionId: string;
  owner: string;
  /**
   * The account's first workflow run: an account created again under the same session id is another account, whose
   * generations count from 1 again. What is asked of a client through its lease names it (db/session-leases.ts).
   */
  accountRun?: string | null;
  generation: number;
  pairingPhoneNumber: string | null;
  /** The WhatsApp Web build this account pins, if it pins one. */
  webVersion?: string | null;
  /** What the phone shows under "Linked devices"; null: WhatsApp's own. */
  deviceName?: string | null;
  browserName?: string | null;
  /** The proxy the session goes out through, its credentials opened; null: none. */
  proxy?: SessionProxy | null;
}

/**
 * The engine sessions living in this worker process. Only host-queue activities of this process reach it, so
 * every command for a session lands where its client runs.
 */
export class SessionHost {
  private readonly sessions = new Map<string, HostedSession>();
  /** Clients a stop took out of `sessions` that are still being destroyed: a new start of the session waits for them. */
  private readonly retiring = new Map<string, Promise<unknown>>();
  private readonly readyListeners: Array<(sessionId: string) => void> = [];

  constructor(
    private readonly engine: Engine,
    private readonly sink: SessionEventSink,
    private readonly log: Logger,
    /** Called when a session leaves this host (its seat is free again). */
    private readonly onSessionLeft: () => void = () => undefined,
    /** One host per session: a client runs here only under the session's lease (none: a host alone, in tests). */
    private readonly leases: HostLeases | null = null,
  ) {}

  /** Sessions this host runs or is starting. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Starts the session for this generation and answers with the events it emitted until the first its owner acts on
   * (or START_EVENTS_WAIT_MS); later events go to the sink. A repeated start of the same generation of the same run
   * (an activity retry) answers what the start under way answers, or nothing once it has answered: those events went out.
   */
  async start(params: StartSession, abandoned?: AbortSignal): Promise<SessionEvent[]> {
    const existing = this.sessions.get(params.sessionId);
    if (existing && this.isTakeover(existing, params)) return existing.starting ?? [];

    let markGone: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => {
      markGone = resolve;
    });
    let markSettled: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => {
      markSettled = resolve;
    });
    let markLaunched: () => void = () => undefined;
    const launched = new Promise<void>((resolve) => {
      markLaunched = resolve;
    });
    const hosted: HostedSession = {
      generation: params.generation,
      accountRun: params.accountRun ?? null,
      epoch: null,
      owner: params.owner,
      session: null,
      engineStart: null,
      gone,
      markGone,
      outbox: Promise.resolve(),
      heldEvents: [],
      settled,
      markSettled,
      starting: null,
      launched,
      markLaunched,
      ready: false,
      lastEventAt: Date.now(),
    };
    this.sessions.set(params.sessionId, hosted);
    // One client of a session on this host at a time: the client this one replaces is stopped, or its start has
    // undone what it made, before this one asks for the lease. Two starts asking at once would each take an epoch,
    // in either order.
    const replaced = Promise.all([
      this.retiring.get(params.sessionId),
      existing ? this.retire(params.sessionId, existing, {}) : undefined,
    ]).catch((error: unknown) =>
      this.log.warn({ sessionId: params.sessionId, err: String(error) }, 'stopping the replaced client failed'),
    );
    const starting = replaced.then(() => this.startHosted(params, hosted, abandoned));
    hosted.starting = starting;
    try {
      return await starting;
    } finally {
      hosted.starting = null;
    }
  }

  private async startHosted(
    params: StartSession,
    hosted: HostedSession,
    abandoned: AbortSignal | undefined,
  ): Promise<SessionEvent[]> {
    // A stop can come while the start waits for the lease or for the engine (a drain, a newer generation): the stop
    // finds nothing to destroy or release yet, so the start does it once it has them.
    const stoppedMeanwhile = () => this.sessions.get(params.sessionId) !== hosted;
    // A start its workflow no longer wants (terminated while this waited for the lease) asks nothing more of the
    // holder: it would ask a newer run's client to stop.
    const unwanted = () => stoppedMeanwhile() || abandoned?.aborted === true;
    try {
      if (unwanted()) throw new SessionStoppedWhileStarting(params.sessionId);
      if (this.leases) {
        const accountRun = params.accountRun ?? null;
        hosted.epoch = await this.leases.acquire(params.sessionId, {
          client: accountRun === null ? null : { accountRun, generation: params.generation },
          stillWanted: () => !unwanted(),
        });
        if (hosted.epoch === null) throw new SessionStoppedWhileStarting(params.sessionId);
      }
      if (unwanted()) throw new SessionStoppedWhileStarting(params.sessionId);
      hosted.engineStart = this.engine.start({
        sessionId: params.sessionId,
        pairingPhoneNumber: params.pairingPhoneNumber,
        onEvent: (event) => this.forward(params.sessionId, hosted, event),
        fence: hosted.epoch === null ? null : { host: this.leases?.host ?? '', epoch: hosted.epoch },
        webVersion: params.webVersion ?? null,
        deviceName: params.deviceName ?? null,
        browserName: params.browserName ?? null,
        proxy: params.proxy ?? null,
      });
      const session = await hosted.engineStart;
      if (stoppedMeanwhile()) {
        await session.destroy().catch(() => undefined);
        throw new SessionStoppedWhileStarting(params.sessionId);
      }
      hosted.session = session;
    } catch (error) {
      if (!stoppedMeanwhile()) this.sessions.delete(params.sessionId);
      if (hosted.epoch !== null) await this.leases?.release(params.sessionId, hosted.epoch);
      hosted.heldEvents = null;
      hosted.markGone();
      hosted.markLaunched();
      this.onSessionLeft();
      throw error;
    }
    hosted.markLaunched();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      hosted.settled,
      hosted.gone,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, START_EVENTS_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    // Taken in the events' own queue: an event still on its way (the phone read at `ready`) is held or sent, never
    // lost between the two.
    let events: SessionEvent[] = [];
    hosted.outbox = hosted.outbox.then(() => {
      events = hosted.heldEvents ?? [];
      hosted.heldEvents = null;
    });
    await hosted.outbox;
    // Stopped while it was coming up (this host is draining): the owner asks for another host at once.
    if (stoppedMeanwhile()) throw new SessionStoppedWhileStarting(params.sessionId);
    return events;
  }

  /**
   * Whether this start takes over the client already here (a continued run of the account, or a retried start)
   * instead of starting one: it then needs no settings and starts nothing.
   */
  takesOver(params: Pick<StartSession, 'sessionId' | 'generation' | 'accountRun'>): boolean {
    const existing = this.sessions.get(params.sessionId);
    return existing !== undefined && this.isTakeover(existing, params);
  }

  /**
   * The same generation of the same run of the account. A new run (its workflow started again after it was
   * terminated) counts from generation 1 again: its start replaces the client of the run before it.
   */
  private isTakeover(existing: HostedSession, params: Pick<StartSession, 'generation' | 'accountRun'>): boolean {
    return existing.generation === params.generation && existing.accountRun === (params.accountRun ?? null);
  }

  get(sessionId: string, generation?: number): EngineSession | null {
    const hosted = this.sessions.get(sessionId);
    if (!hosted || (generation !== undefined && hosted.generation !== generation)) return null;
    return hosted.session;
  }

  /** Calls `listener` each time a session here turns ready. */
  onReady(listener: (sessionId: string) => void): void {
    this.readyListeners.push(listener);
  }

  /** The sessions here that are up (turned ready and nothing since took them down), all or those named. */
  readySessions(only?: readonly string[]): ReadySession[] {
    const ready: ReadySession[] = [];
    const entries = only
      ? only.map((sessionId) => [sessionId, this.sessions.get(sessionId)] as const)
      : [...this.sessions.entries()];
    for (const [sessionId, hosted] of entries) {
      if (hosted?.ready && hosted.session)
        ready.push({
          sessionId,
          generation: hosted.generation,
          session: hosted.session,
          lastEventAt: hosted.lastEventAt,
        });
    }
    return ready;
  }

  /**
   * Restarts a session from its saved login, as a drop would: its owner hears `disconnected` (transient, with the
   * reason) and reconnects it, and the client stops here. Nothing happens when that generation is no longer here.
   */
  async restart(sessionId: string, generation: number, reason: string): Promise<boolean> {
    const hosted = this.sessions.get(sessionId);
    if (hosted?.generation !== generation) return false;
    this.forward(sessionId, hosted, { type: 'disconnected', kind: 'transient', reason });
    // The owner hears why before the client's watch ends: a watch that ended first would read as a lost host, whose
    // quick move writes nothing, and the restart would leave no trace on the account.
    const told = await settlesWithin(hosted.outbox, RESTART_NOTICE_WAIT_MS);
    if (!told) this.log.warn({ sessionId, generation, reason }, 'restarting before the account was told why');
    // Meanwhile the account may have stopped this client and started its next one here: that one stays.
    if (this.sessions.get(sessionId) === hosted) await this.stop(sessionId);
    return true;
  }

  /** Resolves when the session of this generation is destroyed here; null when it is not on this host. */
  whenGone(sessionId: string, generation: number): Promise<void> | null {
    const hosted = this.sessions.get(sessionId);
    return hosted && hosted.generation === generation ? hosted.gone : null;
  }

  /**
   * Stops the session's client. `logout` first unlinks the device on the phone (best effort: the session may already
   * be gone); `forgetLogin` then removes what the engine kept of the login, on this host and in the auth store.
   */
  async stop(sessionId: string, options: { logout?: boolean; forgetLogin?: boolean } = {}): Promise<void> {
    const hosted = this.sessions.get(sessionId);
    let forgotten = false;
    if (hosted) {
      this.sessions.delete(sessionId);
      const retired = this.retire(sessionId, hosted, options);
      this.retiring.set(sessionId, retired);
      try {
        forgotten = await retired;
      } finally {
        if (this.retiring.get(sessionId) === retired) this.retiring.delete(sessionId);
      }
    }
    if (options.forgetLogin && !forgotten) await this.engine.removeAuth(sessionId);
  }

  /**
   * Stops the session's client that runs under this lease epoch, if that is the one here now: a newer client of the
   * session, waiting for that one to go, is not the lost (or asked) lease's.
   */
  async stopClient(
    sessionId: string,
    epoch: number,
    options: { logout?: boolean; forgetLogin?: boolean } = {},
  ): Promise<void> {
    if (this.sessions.get(sessionId)?.epoch === epoch) await this.stop(sessionId, options);
  }

  /** Whether the session's client here is still being made (its lease or its engine start under way). */
  private isStarting(sessionId: string): boolean {
    const hosted = this.sessions.get(sessionId);
    return hosted !== undefined && hosted.session === null;
  }

  /**
   * Stops a client no longer in `sessions`, or, while its start is still making it, waits for that start to undo it.
   * A login to forget goes before the lease: once the lease is given up, a start elsewhere may already use the login.
   * Answers whether it forgot the login.
   */
  private async retire(
    sessionId: string,
    hosted: HostedSession,
    options: { logout?: boolean; forgetLogin?: boolean },
  ): Promise<boolean> {
    if (hosted.session === null) {
      // Taking the lease or starting the engine: the start sees it is no longer wanted, destroys what it made and
      // gives up its lease.
      await hosted.launched;
      if (hosted.session === null) return false;
    }
    if (options.logout) await hosted.session.logout().catch(() => undefined);
    await hosted.session
      .destroy()
      .catch((error: unknown) => this.log.warn({ sessionId, err: String(error) }, 'destroying a session failed'));
    try {
      if (options.forgetLogin) await this.engine.removeAuth(sessionId);
    } finally {
      if (hosted.epoch !== null) await this.leases?.release(sessionId, hosted.epoch);
      hosted.markGone();
      this.onSessionLeft();
    }
    return options.forgetLogin === true;
  }

  /**
   * Hands every session to other hosts: each client stops here, its login kept (the others restore them from the
   * saved login, no scan), at most `perSecond` a second and no faster than the others take them (engine/drain-pace.ts:
   * the rest keep running here meanwhile). After `graceMs`, or once no other host takes any, whatever is left stops
   * at once. Each owner is also told directly (`tellOwner`): the watch's completion alone can be lost with a host that
   * exits right after, and a released lease is not a lapsed one, so no other host would report it.
   */
  async handOver(options: {
    perSecond: number;
    graceMs: number;
    tellOwner: (sessionId: string) => Promise<void>;
  }): Promise<{ handedOver: number; stoppedAtOnce: number; ownersNotTold: number }> {
    const leases = this.leases;
    // Without leases (a host alone, in tests) nothing is seen landing anywhere: only the start pace holds.
    const pace = leases ? new DrainPace((sessionIds) => leases.landedElsewhere(sessionIds)) : null;
    const deadline = performance.now() + options.graceMs;
    const intervalMs = 1000 / options.perSecond;
    const telling: Promise<void>[] = [];
    let handedOver = 0;
    const abandoned: Promise<void>[] = [];
    for (const sessionId of [...this.sessions.keys()]) {
      // Stopped or taken over before or while it waited its turn: nothing of it is here to hand over.
      if (!this.sessions.has(sessionId)) continue;
      if (pace ? (await pace.nextTurn(deadline)) === 'stop' : performance.now() >= deadline) break;
      if (!this.sessions.has(sessionId)) continue;
      // A client still being made stops once its start notices; the others' hand-over does not wait for it.
      if (this.isStarting(sessionId)) abandoned.push(this.stop(sessionId));
      else await this.stop(sessionId);
      telling.push(options.tellOwner(sessionId));
      pace?.handedOver(sessionId);
      handedOver += 1;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    const rest = [...this.sessions.keys()];
    await Promise.all([this.stopAll(), ...abandoned]);
    telling.push(...rest.map((sessionId) => options.tellOwner(sessionId)));
    const told = await Promise.allSettled(telling);
    return {
      handedOver,
      stoppedAtOnce: rest.length,
      ownersNotTold: told.filter((outcome) => outcome.status === 'rejected').length,
    };
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((sessionId) => this.stop(sessionId)));
  }

  /**
   * One bounded look at the own phone number when the session turns ready: usually WhatsApp has it by then, and
   * sending it with `ready` saves the owner a round trip to this host. Anything short of a valid number (not provided
   * yet, unresolvable, slow, failing) sends `ready` alone, and the owner asks again with its own retries.
   */
  private async readOwnPhoneAtReady(session: EngineSession): Promise<SessionEvent['ownPhone'] | null> {
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const reading = await Promise.race([
        readOwnPhone(session),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), READY_PHONE_READ_BUDGET_MS);
        }),
      ]);
      if (reading?.kind !== 'phone') return null;
      const { kind: _phone, ...identity } = reading;
      return { ...identity, readInMs: Date.now() - startedAt };
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  private forward(sessionId: string, hosted: HostedSession, event: EngineEvent) {
    const emittedAt = Date.now();
    hosted.lastEventAt = emittedAt;
    hosted.ready = event.type === 'ready';
    if (hosted.ready) for (const listener of this.readyListeners) listener(sessionId);
    // The type and reason only: a QR or a pairing code is a login credential and stays out of logs.
    const reason = event.type === 'disconnected' ? { kind: event.kind, reason: event.reason } : {};
    this.log.info({ sessionId, generation: hosted.generation, event: event.type, ...reason }, 'engine event');
    hosted.outbox = hosted.outbox.then(async () => {
      const sessionEvent: SessionEvent = {
        generation: hosted.generation,
        ...(hosted.accountRun === null ? {} : { accountRun: hosted.accountRun }),
        event,
        emittedAt,
      };
      if (event.type === 'ready') {
        // A restored login can turn ready before the engine's start has handed over its client.
        const session = hosted.session ?? (await hosted.engineStart?.catch(() => null));
        const ownPhone = session ? await this.readOwnPhoneAtReady(session) : null;
        if (ownPhone) sessionEvent.ownPhone = ownPhone;
      }
      if (hosted.heldEvents) {
        hosted.heldEvents.push(sessionEvent);
        if (event.type !== 'authenticated') hosted.markSettled();
        return;
      }
      try {
        const outcome = await this.sink(hosted.owner, sessionEvent);
        // Nobody follows this session any more: its client only holds memory.
        if (outcome === 'unwanted' && this.sessions.get(sessionId) === hosted) await this.stop(sessionId);
      } catch (error) {
        this.log.error({ sessionId, event: event.type, err: String(error) }, 'could not deliver an engine event');
      }
    });
  }
}

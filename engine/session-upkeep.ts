import type { SessionSighting } from '../db/session-sightings.js';
import { UPKEEP_RESTART_REASONS } from '../domain/upkeep-restart-reasons.js';
import type { Logger } from '../lib/logger.js';
import type { ReadySession, SessionHost } from './session-host.js';
import type { ProfilePicture } from './types.js';

export interface SessionUpkeepSettings {
  /** How often every connected session on the host is looked at. */
  everyMs: number;
  /** How long a session's client may take to answer before the look counts as a miss. */
  answerWithinMs: number;
  /** Misses in a row after which the session is restarted from its saved login. */
  missesBeforeRestart: number;
  /** A browser holding more than this is restarted at a quiet moment; null: never. */
  memoryLimitBytes: number | null;
  /** A session is quiet when its engine has emitted nothing for this long. */
  quietForMs: number;
}

type Look = { alive: true; sighting: SessionSighting } | { alive: false; why: string };

/** Sessions looked at together: a hung page costs one of these for `answerWithinMs`, never the whole round. */
const LOOKS_AT_ONCE = 16;

/**
 * The host's periodic look at its connected sessions. A status only says what the last event said: a session can
 * read `connected` while its page is hung or its browser gone quiet. Each look asks the client itself (WhatsApp Web's
 * own state), and what it finds alive is written in one statement per round (`last_seen_at`, the build, the memory).
 * A session that misses `missesBeforeRestart` looks in a row is restarted from its saved login; one whose browser
 * grew past the limit is restarted once it is quiet, one per round, so a host never restarts many at once.
 */
export class SessionUpkeep {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private round: Promise<void> = Promise.resolve();
  /** Misses in a row, per session and generation. */
  private readonly misses = new Map<string, { generation: number; count: number; why: string }>();
  /** The build each session runs, per generation: it changes only with a start, so it is asked once per start. */
  private readonly builds = new Map<string, { generation: number; webVersion: string }>();
  /** The generation whose profile picture was fetched, per session: once per start is enough. */
  private readonly pictures = new Map<string, number>();
  /** Sessions that turned ready since the round that looks at them was queued. */
  private readonly justReady = new Set<string>();
  private justReadyRoundQueued = false;
  /** Clients of ended accounts being stopped, by session. */
  private readonly stoppingEnded = new Map<string, Promise<unknown>>();

  constructor(
    private readonly host: SessionHost,
    /** Writes what a round found alive; answers those of them whose accounts have ended. */
    private readonly recordSightings: (sightings: SessionSighting[]) => Promise<readonly string[]>,
    private readonly settings: SessionUpkeepSettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runRound(), this.settings.everyMs);
    // A session just ready is looked at at once: its row gets its build and memory without waiting a round. Those
    // that turn ready while a round runs are looked at together in the next, one statement for all of them.
    this.host.onReady((sessionId) => {
      this.justReady.add(sessionId);
      if (this.justReadyRoundQueued) return;
      this.justReadyRoundQueued = true;
      setTimeout(() => {
        void this.runRound(() => {
          this.justReadyRoundQueued = false;
          const named = [...this.justReady];
          this.justReady.clear();
          return named;
        });
      }, 0);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
    await Promise.all(this.stoppingEnded.values());
  }

  /**
   * One round over the ready sessions (all of them, or those named, when the round begins); rounds never overlap.
   */
  runRound(only?: string[] | (() => string[])): Promise<void> {
    if (this.stopped) return this.round;
    this.round = this.round
      .then(() => this.lookAtAll(typeof only === 'function' ? only() : only))
      .catch((error: unknown) => {
        this.log.warn({ err: String(error) }, 'a round of session checks failed; the next one tries again');
      });
    return this.round;
  }

  private async lookAtAll(only?: string[]): Promise<void> {
    const ready = this.host.readySessions(only);
    const sightings: SessionSighting[] = [];
    const overLimit: Array<ReadySession & { memoryBytes: number }> = [];
    for (let next = 0; next < ready.length; next += LOOKS_AT_ONCE) {
      const batch = ready.slice(next, next + LOOKS_AT_ONCE);
      const looks = await Promise.all(batch.map((session) => this.lookAt(session)));
      for (const [index, look] of looks.entries()) {
        const session = batch[index];
        if (!session) continue;
        if (look.alive) {
          this.misses.delete(session.sessionId);
          sightings.push(look.sighting);
          const limit = this.settings.memoryLimitBytes;
          if (limit !== null && look.sighting.memoryBytes !== null && look.sighting.memoryBytes > limit)
            overLimit.push({ ...session, memoryBytes: look.sighting.memoryBytes });
        } else {
          await this.missed(session, look.why);
        }
      }
    }
    if (sightings.length > 0) this.stopEnded(await this.recordSightings(sightings));
    await this.recycleOne(overLimit);
    // Only a round over every session knows which are gone; one over a few would walk the whole host for them.
    if (!only) this.forgetSessionsGone();
  }

  private async lookAt(ready: ReadySession): Promise<Look> {
    const { session, sessionId } = ready;
    const state = await this.answered(session.state());
    if (state === undefined) return { alive: false, why: UPKEEP_RESTART_REASONS.unresponsive };
    if (state !== 'CONNECTED') return { alive: false, why: `state_${state ?? 'none'}` };
    const [webVersion, memoryBytes, profilePicture] = await Promise.all([
      this.buildOf(ready),
      session.memoryBytes().catch(() => null),
      this.pictureOf(ready),
    ]);
    const sighting = { sessionId, webVersion, memoryBytes };
    return { alive: true, sighting: profilePicture === undefined ? sighting : { ...sighting, profilePicture } };
  }

  /** The profile picture, fetched once per start (null: none); undefined when already fetched or not answered. */
  private async pictureOf({
    session,
    sessionId,
    generation,
  }: ReadySession): Promise<ProfilePicture | null | undefined> {
    if (this.pictures.get(sessionId) === generation) return undefined;
    const picture = await this.answered(session.profilePicture());
    if (picture !== undefined) this.pictures.set(sessionId, generation);
    return picture;
  }

  private async buildOf({ session, sessionId, generation }: ReadySession): Promise<string | null> {
    const known = this.builds.get(sessionId);
    if (known?.generation === generation) return known.webVersion;
    const webVersion = (await this.answered(session.webVersion())) ?? null;
    if (webVersion !== null) this.builds.set(sessionId, { generation, webVersion });
    return webVersion;
  }

  /** What the client answered, or undefined when it did not answer in time (or failed to). */
  private async answered<T>(question: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        question,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), this.settings.answerWithinMs);
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private async missed({ sessionId, generation }: ReadySession, why: string): Promise<void> {
    const earlier = this.misses.get(sessionId);
    const count = earlier?.generation === generation ? earlier.count + 1 : 1;
    this.misses.set(sessionId, { generation, count, why });
    this.log.warn({ sessionId, generation, why, misses: count }, 'a connected session did not answer its check');
    if (count < this.settings.missesBeforeRestart) return;
    this.misses.delete(sessionId);
    const reason = why === UPKEEP_RESTART_REASONS.unresponsive ? why : `${UPKEEP_RESTART_REASONS.unresponsive}:${why}`;
    if (await this.host.restart(sessionId, generation, reason))
      this.log.warn({ sessionId, generation, reason }, 'restarting a session that stopped answering');
  }

  /**
   * A client still connected for an account that has ended: its workflow was terminated before the account was
   * deleted or ended, so nobody else will stop it. It is stopped as an ending stops a client: the device unlinked
   * from the phone, the login forgotten on this host. Outside the round: a logout that hangs holds up no check.
   */
  private stopEnded(sessionIds: readonly string[]): void {
    for (const sessionId of sessionIds) {
      if (this.stoppingEnded.has(sessionId)) continue;
      this.log.warn({ sessionId }, 'stopping a client whose account has ended');
      const stopping = this.host
        .stop(sessionId, { logout: true, forgetLogin: true })
        .catch((error: unknown) =>
          this.log.warn({ sessionId, err: String(error) }, 'could not stop a client whose account has ended'),
        )
        .finally(() => this.stoppingEnded.delete(sessionId));
      this.stoppingEnded.set(sessionId, stopping);
    }
  }

  /** The largest quiet session over the limit is restarted; the others wait for later rounds. */
  private async recycleOne(overLimit: Array<ReadySession & { memoryBytes: number }>): Promise<void> {
    const quietSince = Date.now() - this.settings.quietForMs;
    const largest = overLimit
      .filter((session) => session.lastEventAt <= quietSince)
      .sort((a, b) => b.memoryBytes - a.memoryBytes)[0];
    if (!largest) return;
    const restarted = await this.host.restart(largest.sessionId, largest.generation, UPKEEP_RESTART_REASONS.memory);
    if (restarted) {
      this.log.info(
        {
          sessionId: largest.sessionId,
          memoryMb: Math.round(largest.memoryBytes / 1024 / 1024),
          limitMb: Math.round((this.settings.memoryLimitBytes ?? 0) / 1024 / 1024),
          overLimitWaiting: overLimit.length - 1,
        },
        'restarting a session whose browser outgrew its memory limit',
      );
    }
  }

  private forgetSessionsGone(): void {
    const here = new Set(this.host.readySessions().map((session) => session.sessionId));
    for (const sessionId of this.misses.keys()) if (!here.has(sessionId)) this.misses.delete(sessionId);
    for (const sessionId of this.builds.keys()) if (!here.has(sessionId)) this.builds.delete(sessionId);
    for (const sessionId of this.pictures.keys()) if (!here.has(sessionId)) this.pictures.delete(sessionId);
  }
}

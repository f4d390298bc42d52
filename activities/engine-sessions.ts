import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AccountStartSettings } from '../db/account-start-settings.js';
import { screenshotSealContext } from '../db/session-screenshots.js';
import type { LoggedInIdentity, SessionEvent } from '../engine/types.js';
import { readOwnPhone } from '../engine/own-phone.js';
import { SessionStoppedWhileStarting, type SessionHost, type StartSession } from '../engine/session-host.js';
import { sealForOneReader } from '../lib/sealed-for-one-reader.js';
import type { HostSeats } from './placement.js';

/** A screenshot sealed for the API request that asked for it, on its way through the database. */
export interface SealedScreenshot {
  requestId: string;
  sessionKey: string;
  sealed: Buffer;
  contentType: string;
}

/**
 * Activities on this process's host queue: the only code that touches its engine sessions. Each is idempotent, so a
 * retry after a lost completion does no harm.
 */
export function createEngineSessionActivities(
  host: SessionHost,
  seats: HostSeats,
  /** The build the account pins and the names it announces, read at each start: a change applies from the next. */
  startSettings: (sessionId: string) => Promise<AccountStartSettings>,
  /** Leaves a sealed screenshot where the API request that asked for it takes it (db/session-screenshots.ts). */
  keepScreenshot: (screenshot: SealedScreenshot) => Promise<void>,
) {
  /** The session's client here, of this generation when one is named. */
  const requireSession = (sessionId: string, generation?: number) => {
    const session = host.get(sessionId, generation);
    if (!session) {
      const which = generation === undefined ? '' : ` (generation ${generation})`;
      throw ApplicationFailure.nonRetryable(`session ${sessionId}${which} is not on this host`, 'SessionNotOnHost');
    }
    return session;
  };

  return {
    /**
     * `owner` is the account's workflow id: the session's events are signalled to it, except those of the start
     * itself (up to its first QR, pairing code, `ready` or failure), which come back with this answer.
     */
    async startEngineSession(input: StartSession): Promise<{ events: SessionEvent[] }> {
      // Read first: the seat its claim held must become the running session in the same turn of the event loop,
      // or the host counts a free seat in between and takes one session too many. A continued run taking over the
      // client already here starts nothing: no settings, and no start a web-build canary would count.
      const settings = host.takesOver(input) ? {} : await startSettings(input.sessionId);
      seats.seatTaken(input.sessionId);
      try {
        // A workflow terminated meanwhile answers its start's heartbeat with a cancellation: the start gives up.
        const { cancellationSignal } = Context.current();
        return { events: await whileHeartbeating(() => host.start({ ...input, ...settings }, cancellationSignal)) };
      } catch (error) {
        // Stopped here before it was up (this host is draining): the account asks for another host at once.
        if (error instanceof SessionStoppedWhileStarting)
          throw ApplicationFailure.nonRetryable(error.message, 'SessionNotOnHost');
        throw error;
      }
    },

    /**
     * Lives as long as the session lives on this host, heartbeating: when the host dies the heartbeats stop and the
     * workflow learns it within the heartbeat timeout. Returns when the session is destroyed.
     */
    async watchEngineSession(input: { sessionId: string; generation: number }): Promise<'destroyed' | 'cancelled'> {
      const context = Context.current();
      const gone = host.whenGone(input.sessionId, input.generation);
      if (!gone)
        throw ApplicationFailure.nonRetryable(`session ${input.sessionId} is not on this host`, 'SessionNotOnHost');
      const intervalMs = Math.max(200, Math.floor((context.info.heartbeatTimeoutMs ?? 30_000) / 3));
      const beat = setInterval(() => context.heartbeat(), intervalMs);
      context.heartbeat();
      try {
        return await Promise.race([
          gone.then(() => 'destroyed' as const),
          // A continue-as-new closes the run that scheduled this watch; the session stays, the new run watches it.
          context.cancelled.then(
            () => 'cancelled' as const,
            () => 'cancelled' as const,
          ),
        ]);
      } finally {
        clearInterval(beat);
      }
    },

    /** Reads who logged in; retried by Temporal while WhatsApp has not provided it yet (no fixed sleeps). */
    async extractPhone(input: { sessionId: string; generation: number }): Promise<LoggedInIdentity> {
      const reading = await readOwnPhone(requireSession(input.sessionId, input.generation));
      if (reading.kind === 'not_yet')
        throw ApplicationFailure.retryable('WhatsApp has not provided the own identity yet', 'IdentityNotAvailable');
      if (reading.kind === 'unresolvable') throw ApplicationFailure.nonRetryable(reading.reason, 'PhoneUnresolvable');
      const { kind: _phone, ...identity } = reading;
      return identity;
    },

    async requestEnginePairingCode(input: {
      sessionId: string;
      generation: number;
      phoneNumber: string;
    }): Promise<{ code: string }> {
      const session = requireSession(input.sessionId, input.generation);
      try {
        return { code: await whileHeartbeating(() => session.requestPairingCode(input.phoneNumber)) };
      } catch (error) {
        throw ApplicationFailure.nonRetryable((error as Error).message, 'PairingCodeRefused');
      }
    },

    /**
     * Takes a screenshot of the session's page and seals it for the one API request that asked (`readerKey`, whose
     * private half lives only in that request's memory): the image passes through neither this activity's result
     * (the workflow's history) nor the database in clear.
     */
    async captureSessionScreen(input: { sessionId: string; requestId: string; readerKey: string }): Promise<void> {
      // Whichever client of the session runs here: this host holds its lease, which is how the API found the host.
      const session = requireSession(input.sessionId);
      const screenshot = await whileHeartbeating(() => withinPageDeadline(session.screenshot()));
      const context = screenshotSealContext(input.requestId, input.sessionId);
      await keepScreenshot({
        requestId: input.requestId,
        sessionKey: input.sessionId,
        sealed: sealForOneReader(input.readerKey, context, screenshot.bytes),
        contentType: screenshot.contentType,
      });
    },

    /** Stops the client; `logout` unlinks the device on the phone first, `forgetLogin` removes the saved login. */
    async stopEngineSession(input: { sessionId: string; logout: boolean; forgetLogin: boolean }): Promise<void> {
      await whileHeartbeating(() =>
        host.stop(input.sessionId, { logout: input.logout, forgetLogin: input.forgetLogin }),
      );
    },
  };
}

/** A page that takes longer to draw itself is not answering (a hung WhatsApp Web): the person asking hears so. */
const PAGE_ANSWER_MS = 8_000;

function withinPageDeadline<T>(answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          ApplicationFailure.nonRetryable(
            `the session's page did not answer within ${PAGE_ANSWER_MS / 1000} s`,
            'PageNotAnswering',
          ),
        ),
      PAGE_ANSWER_MS,
    );
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/** A third of the host commands' heartbeat timeout (workflows/account-activities.ts). */
const HOST_COMMAND_HEARTBEAT_MS = 3_000;

/**
 * Runs a host command, heartbeating while it runs. A task the server records as handed to this host but that never
 * reaches it (a poll that ended as the task was matched to it) then fails after the heartbeat timeout, seconds, and is
 * retried, instead of waiting out its whole start-to-close timeout, minutes.
 */
async function whileHeartbeating<T>(run: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const beat = setInterval(() => context.heartbeat(), HOST_COMMAND_HEARTBEAT_MS);
  try {
    return await run();
  } finally {
    clearInterval(beat);
  }
}

import { getExternalWorkflowHandle, log, upsertSearchAttributes } from '@temporalio/workflow';
import { failureMessage, failureReason, lastAttemptReason, rowWrites } from './account-activities.js';
import { PAIRING_RETRY_LATER, type AccountEffect, type AccountInput } from './account-inputs.js';
import { accountWorkflowId } from './ids.js';
import { signalAccount, supersededSignal } from './messages.js';
import type { PairingRequests } from './pairing-requests.js';
import { accountHostKey } from './search-attributes.js';
import type { SessionLink } from './session-link.js';

/** Who the account is, as its effects name it. */
export interface AccountIds {
  workflowId: string;
  /** The run that began this workflow's chain of runs: stays through continue-as-new, new for a new start. */
  firstExecutionRunId: string;
  workspaceId: string;
  sessionId: string;
  /** The row's and the host's name for the session: the session id alone may name an account in each workspace. */
  sessionKey: string;
}

/**
 * Carries out the account's effects, one at a time, for the account machine: the row writes (each named by its dedupe
 * key, so a retry is applied once, and followed by the deliveries of the webhooks it produced), the host calls, the
 * answers to pairing-code requests. Returns the outcome the transition needs next, or null. It changes no state.
 */
export class AccountEffects {
  constructor(
    private readonly ids: AccountIds,
    private readonly session: SessionLink,
    private readonly pairingRequests: PairingRequests,
  ) {}

  async run(effect: AccountEffect): Promise<AccountInput | null> {
    const sessionId = this.ids.sessionKey;
    switch (effect.type) {
      case 'writeStatus': {
        const { dedupeName, ...change } = effect.write;
        const snapshot = await rowWrites.recordStatus({ sessionId, ...change, dedupeKey: this.key(dedupeName) });
        return { type: 'statusWritten', write: effect.write, snapshot };
      }
      case 'writeEnd': {
        const { dedupeName, ...ending } = effect.write;
        const snapshot = await rowWrites.endAccount({ sessionId, ...ending, dedupeKey: this.key(dedupeName) });
        return { type: 'endWritten', write: effect.write, snapshot };
      }
      case 'writeCode': {
        const { dedupeName, ...code } = effect.write;
        await rowWrites.recordLoginCode({ sessionId, ...code, dedupeKey: this.key(dedupeName) });
        return null;
      }
      case 'writeEvent': {
        const { dedupeName, ...event } = effect.write;
        await rowWrites.recordEvent({ sessionId, ...event, dedupeKey: this.key(dedupeName) });
        return null;
      }
      case 'activate': {
        const { dedupeName, identity, timings } = effect.write;
        const activation = { sessionId, ...identity, timings, dedupeKey: this.key(dedupeName) };
        const result = await rowWrites.activateAccount(activation);
        return { type: 'activated', identity, result };
      }
      case 'askForHost':
        this.session.askForHost(effect.generation);
        return null;
      case 'stopAskingForHost':
        this.session.stopAsking();
        return null;
      case 'startEngine': {
        const { taskQueue, generation, resuming } = effect;
        try {
          await this.session.start(taskQueue, generation);
          return { type: 'engineStarted', taskQueue, generation, resuming };
        } catch (error) {
          return { type: 'engineStartFailed', reason: failureReason(error, 'engine_start_failed'), resuming };
        }
      }
      case 'stopEngine': {
        const { taskQueue, generation, logout, forgetLogin } = effect;
        await this.session.stop(taskQueue, generation, { logout, forgetLogin });
        return null;
      }
      case 'extractPhone': {
        const startedAt = Date.now();
        try {
          const { phoneNumber, pushName, lid, platform } = await this.session.extractPhone(
            effect.taskQueue,
            effect.generation,
          );
          const identity = { phoneNumber, pushName, lid: lid ?? null, platform: platform ?? null };
          return { type: 'phoneRead', identity, readInMs: Date.now() - startedAt };
        } catch (error) {
          return { type: 'phoneUnreadable', reason: lastAttemptReason(error, 'phone_extraction_failed') };
        }
      }
      case 'requestPairingCode': {
        const { requestId, taskQueue, generation, phoneNumber } = effect;
        try {
          const code = await this.session.requestPairingCode(taskQueue, generation, phoneNumber);
          return { type: 'pairingCodeReceived', requestId, code };
        } catch (error) {
          this.refusePairing(requestId, error);
          return null;
        }
      }
      case 'answerPairing':
        this.pairingRequests.settle(effect.requestId, effect.outcome);
        return null;
      case 'tellSuperseded': {
        const older = getExternalWorkflowHandle(accountWorkflowId(this.ids.workspaceId, effect.sessionId));
        await signalAccount(older, supersededSignal, { bySessionId: this.ids.sessionId }).catch(() => undefined);
        return null;
      }
      case 'showHost':
        upsertSearchAttributes([{ key: accountHostKey, value: effect.taskQueue }]);
        return null;
      case 'warn':
        log.warn(effect.message, { sessionId: this.ids.sessionId });
        return null;
    }
  }

  /** A pairing-code request that failed on its way: the requester reads why. */
  refusePairing(requestId: number, error: unknown): void {
    const type = failureReason(error, 'PairingCodeRefused');
    const message = failureMessage(error, 'the engine gave no pairing code');
    // Only the engine's refusal is the requester's to read; a host without the session, or one that did not answer,
    // is the account's own business (its message names hosts and ids), and the requester reads that it may try again.
    if (type !== 'PairingCodeRefused') {
      log.warn('a pairing-code request failed on its host', { sessionId: this.ids.sessionId, type, message });
      this.pairingRequests.settle(requestId, { refusal: PAIRING_RETRY_LATER, type: 'SessionUnavailable' });
      return;
    }
    this.pairingRequests.settle(requestId, { refusal: message, type });
  }

  /**
   * Names a write for the database: the workflow's chain of runs, the write's kind and its number within the kind.
   * A workflow started again after one that was terminated counts its writes from one again: its names are its own.
   */
  private key(dedupeName: string): string {
    return `${this.ids.workflowId}:${this.ids.firstExecutionRunId}:${dedupeName}`;
  }
}

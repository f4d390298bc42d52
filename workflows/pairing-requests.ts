import { ApplicationFailure, condition } from '@temporalio/workflow';
import { failureMessage, failureReason } from './account-activities.js';

interface PairingRequest {
  phoneNumber: string;
  outcome: { code: string } | { refusal: string; type: string } | null;
}

/**
 * Pairing-code requests (an update) wait here for the account's loop, which alone runs the account's activities:
 * an update handler that ran them itself would interleave with the loop's timers differently on replay.
 */
export class PairingRequests {
  private readonly queue: PairingRequest[] = [];

  get length(): number {
    return this.queue.length;
  }

  /** The update handler: queues the request and answers once the loop has. */
  async ask(phoneNumber: string): Promise<{ code: string }> {
    const request: PairingRequest = { phoneNumber, outcome: null };
    this.queue.push(request);
    await condition(() => request.outcome !== null);
    const outcome = request.outcome ?? { refusal: 'no answer', type: 'PairingCodeRefused' };
    if ('code' in outcome) return outcome;
    throw ApplicationFailure.nonRetryable(outcome.refusal, outcome.type);
  }

  /** The loop's turn: `answer` gives the code, or throws the refusal the requester reads. */
  async answerNext(answer: (phoneNumber: string) => Promise<string>): Promise<void> {
    const request = this.queue.shift();
    if (!request) return;
    try {
      request.outcome = { code: await answer(request.phoneNumber) };
    } catch (error) {
      const refusal = failureMessage(error, 'the engine gave no pairing code');
      request.outcome = { refusal, type: failureReason(error, 'PairingCodeRefused') };
    }
  }

  refuseAll(refusal: string, type: string): void {
    for (const request of this.queue.splice(0)) request.outcome = { refusal, type };
  }
}

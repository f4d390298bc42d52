import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { PairingOutcome } from './account-inputs.js';

/**
 * Pairing-code requests (an update) wait here for their answer from the account's loop, which alone runs the
 * account's activities: an update handler that ran them itself would interleave with the loop's timers differently on
 * replay.
 */
export class PairingRequests {
  private lastId = 0;
  private readonly waiting = new Map<number, (outcome: PairingOutcome) => void>();

  /** The update handler: `enqueue` hands the request to the loop; resolves once the loop has answered. */
  async ask(phoneNumber: string, enqueue: (requestId: number, phoneNumber: string) => void): Promise<{ code: string }> {
    this.lastId += 1;
    const requestId = this.lastId;
    const answered: { outcome: PairingOutcome | null } = { outcome: null };
    this.waiting.set(requestId, (outcome) => {
      answered.outcome = outcome;
    });
    enqueue(requestId, phoneNumber);
    await condition(() => answered.outcome !== null);
    const answer = answered.outcome ?? { refusal: 'no answer', type: 'PairingCodeRefused' };
    if ('code' in answer) return { code: answer.code };
    throw ApplicationFailure.nonRetryable(answer.refusal, answer.type);
  }

  /** Answers a request still waiting; a request answered already keeps its first answer. */
  settle(requestId: number, outcome: PairingOutcome): void {
    this.waiting.get(requestId)?.(outcome);
    this.waiting.delete(requestId);
  }

  refuseAll(refusal: string, type: string): void {
    for (const requestId of [...this.waiting.keys()]) this.settle(requestId, { refusal, type });
  }
}

import { totalmem } from 'node:os';
import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';

/** How long a seat promised to a claim is kept for its session to start here. */
const PROMISE_TTL_MS = 60_000;
/** A waiting reservation looks again this often even without a wake-up (a promise may have lapsed). */
const RECHECK_MS = 500;

/**
 * The seats of one host: sessions it runs, seats promised to claims whose session has not started yet, and the
 * slots its placement worker holds to poll with. The placement worker is given a slot only while a seat is free, so
 * a full host does not even ask Temporal for a claim: accounts wait in the placement queue, and the first host with
 * room takes them. (Temporal's worker tuning with a slot supplier of our own; no scheduler of ours.)
 */
export class HostCapacity {
  private readonly promised = new Map<string, number>();
  private permits = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly seats: number,
    private readonly runningSessions: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seats in use: running sessions, promised seats, and slots held by the placement worker's pollers. */
  used(): number {
    const now = this.now();
    for (const [sessionId, expiresAt] of this.promised) if (expiresAt <= now) this.promised.delete(sessionId);
    return this.runningSessions() + this.promised.size + this.permits;
  }

  /** A claim was answered with this host: the session's seat is kept until it starts (or the promise lapses). */
  promise(sessionId: string): void {
    this.promised.set(sessionId, this.now() + PROMISE_TTL_MS);
  }

  /** The session started here: its promised seat is now a running session. */
  fulfil(sessionId: string): void {
    this.promised.delete(sessionId);
    this.changed();
  }

  /** A session left this host: a waiting reservation may go ahead. */
  changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  slotSupplier(): CustomSlotSupplier<ActivitySlotInfo> {
    return {
      type: 'custom',
      reserveSlot: async (_context, abortSignal) => {
        while (this.used() >= this.seats) {
          if (abortSignal.aborted) throw abortError();
          await new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(timer);
              this.waiters.delete(wake);
              abortSignal.removeEventListener('abort', wake);
              resolve();
            };
            const timer = setTimeout(wake, RECHECK_MS);
            this.waiters.add(wake);
            abortSignal.addEventListener('abort', wake, { once: true });
          });
        }
        this.permits += 1;
        return {} satisfies SlotPermit;
      },
      tryReserveSlot: () => {
        if (this.used() >= this.seats) return null;
        this.permits += 1;
        return {} satisfies SlotPermit;
      },
      markSlotUsed: () => undefined,
      releaseSlot: () => {
        this.permits = Math.max(0, this.permits - 1);
        this.changed();
      },
    };
  }
}

function abortError(): Error {
  const error = new Error('the reservation was abandoned');
  error.name = 'AbortError';
  return error;
}

/**
 * Sessions a host takes: the setting when given, else for the real engine what its memory holds at the per-session
 * budget (three quarters of the memory, the rest for the process and the system), and for the simulated engine a
 * number no test reaches.
 */
export function hostSeats(options: {
  setting: number | undefined;
  engine: 'real' | 'simulated';
  sessionMemoryBudgetMb: number;
  memoryBytes?: number;
}): number {
  if (options.setting !== undefined) return options.setting;
  if (options.engine === 'simulated') return 100_000;
  const memory = options.memoryBytes ?? totalmem();
  return Math.max(1, Math.floor((memory * 0.75) / (options.sessionMemoryBudgetMb * 2 ** 20)));
}

import { totalmem } from 'node:os';
import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';
import type { HostSeats } from '../activities/placement.js';

/** How long a seat held for a claim is kept for its session to start here. */
const SEAT_HOLD_TTL_MS = 60_000;
/** A waiting reservation looks again this often even without a wake-up (a promise may have lapsed). */
const RECHECK_MS = 500;

export interface HostCapacityOptions {
  /** Claims this host takes per second at most: a Chromium start is CPU-heavy (default: not paced). */
  startsPerSecond?: number;
  /** Whether the host may take sessions at all now (its lease store answers it); default: always. */
  canTakeSessions?: () => boolean;
  now?: () => number;
  random?: () => number;
}

/**
 * The seats of one host: sessions it runs, seats held for claims whose session has not started yet, and the
 * slots its placement worker holds to poll with. The placement worker is given a slot only while a seat is free, and
 * no faster than the host's start pace, so a full host does not even ask Temporal for a claim: accounts wait in the
 * placement queue, and the first host with room takes them. A host that died has its sessions taken by the others at
 * their pace, with jitter: a restore storm is bounded per host. A host its lease store does not answer asks for no
 * claim at all. (Temporal's worker tuning with a slot supplier of our own; no scheduler of ours.)
 */
export class HostCapacity implements HostSeats {
  private readonly heldSeats = new Map<string, number>();
  private permits = 0;
  private readonly waiters = new Set<() => void>();
  private nextStartAt = 0;
  private readonly startIntervalMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Whether this host may take a session now (HostSeats): its lease store answers it. */
  readonly mayTakeSessions: () => boolean;

  constructor(
    readonly seats: number,
    private readonly runningSessions: () => number,
    options: HostCapacityOptions = {},
  ) {
    this.startIntervalMs = options.startsPerSecond ? 1000 / options.startsPerSecond : 0;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.mayTakeSessions = options.canTakeSessions ?? (() => true);
  }

  /** Seats in use: running sessions, held seats, and slots held by the placement worker's pollers. */
  used(): number {
    const now = this.now();
    for (const [sessionId, expiresAt] of this.heldSeats) if (expiresAt <= now) this.heldSeats.delete(sessionId);
    return this.runningSessions() + this.heldSeats.size + this.permits;
  }

  /** A claim was answered with this host: the session's seat is held until it starts (or the hold lapses). */
  holdSeat(sessionId: string): void {
    this.heldSeats.set(sessionId, this.now() + SEAT_HOLD_TTL_MS);
  }

  /** The session started here: its held seat is now a running session. */
  seatTaken(sessionId: string): void {
    this.heldSeats.delete(sessionId);
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
        for (;;) {
          if (abortSignal.aborted) throw abortError();
          const paceMs = this.nextStartAt - this.now();
          if (this.used() < this.seats && paceMs <= 0 && this.mayTakeSessions()) break;
          await this.waitForChange(abortSignal, paceMs > 0 ? Math.min(paceMs, RECHECK_MS) : RECHECK_MS);
        }
        return this.givePermit();
      },
      tryReserveSlot: () => {
        if (this.used() >= this.seats || this.nextStartAt > this.now() || !this.mayTakeSessions()) return null;
        return this.givePermit();
      },
      markSlotUsed: () => undefined,
      releaseSlot: () => {
        this.permits = Math.max(0, this.permits - 1);
        this.changed();
      },
    };
  }

  /** The next permit waits one start interval, plus up to half of one as jitter: hosts never start in lockstep. */
  private givePermit(): SlotPermit {
    this.permits += 1;
    this.nextStartAt = this.now() + this.startIntervalMs * (1 + this.random() / 2);
    return {};
  }

  private waitForChange(abortSignal: AbortSignal, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        abortSignal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
      abortSignal.addEventListener('abort', wake, { once: true });
    });
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

/** Starts per second a host takes: the setting, else 2 for the real engine (Chromium) and 200 for the simulated. */
export function hostStartsPerSecond(setting: number | undefined, engine: 'real' | 'simulated'): number {
  return setting ?? (engine === 'real' ? 2 : 200);
}

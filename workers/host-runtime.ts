import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import type { ProcessEnv } from '../config/env.js';
import { recordSightings } from '../db/session-sightings.js';
import { HostLeases, leaseTimings } from '../engine/host-leases.js';
import { SessionHost } from '../engine/session-host.js';
import { SessionUpkeep } from '../engine/session-upkeep.js';
import type { Engine } from '../engine/types.js';
import type { Logger } from '../lib/logger.js';
import { signalAccountWorkflow, signalHostGone } from './engine-event-sink.js';
import { HostCapacity, hostSeats, hostStartsPerSecond } from './host-capacity.js';
import { HostReport } from './host-report.js';
import { hostTaskQueueName } from './task-queues.js';

/** Clients a host stops at once when asked through its leases. */
const ASKED_STOPS_AT_ONCE = 8;

/**
 * This process as a host of WhatsApp sessions, behind one entry point: its seats and start pace (capacity), one
 * lease per session it runs (no other host runs it meanwhile), the sessions themselves, their upkeep, the report it
 * writes of itself for operators, and the hand-over of all of them when the host drains. The parts answer each other (a freed seat, a lost lease), so they
 * are made together here, and each callback reads a part only once all exist.
 */
export class HostRuntime {
  /** This host's own task queue: the activities that touch its clients. */
  readonly taskQueue = hostTaskQueueName();
  readonly seats: number;
  readonly startsPerSecond: number;
  readonly capacity: HostCapacity;
  readonly leases: HostLeases;
  readonly sessions: SessionHost;
  private readonly upkeep: SessionUpkeep;
  private readonly report: HostReport;

  constructor(
    private readonly parts: { env: ProcessEnv; engine: Engine; pool: DatabasePool; client: Client; log: Logger },
  ) {
    const { env, engine, pool, client, log } = parts;
    this.seats = hostSeats({
      setting: env.HOST_SESSION_CAPACITY,
      engine: env.WA_ENGINE,
      sessionMemoryBudgetMb: env.SESSION_MEMORY_BUDGET_MB,
    });
    this.startsPerSecond = hostStartsPerSecond(env.HOST_SESSION_STARTS_PER_SECOND, env.WA_ENGINE);
    this.capacity = new HostCapacity(this.seats, () => this.sessions.size, {
      startsPerSecond: this.startsPerSecond,
      canTakeSessions: () => this.leases.reachesLeaseStore(),
    });
    // A session taken over, or every session when the leases could not be renewed in time, stops here: all at once,
    // since another host may start each as soon as its lease lapses, and one by one the last would still run then.
    this.leases = new HostLeases(
      pool,
      this.taskQueue,
      async (lost) => {
        await Promise.all(lost.map(({ sessionId, epoch }) => this.sessions.stopClient(sessionId, epoch)));
      },
      log,
      leaseTimings(env.SESSION_LEASE_TTL_MS),
      {
        reportGone: signalHostGone(client),
        // Asked through the lease store: a few at a time, so one slow browser's stop holds back few others and a host
        // asked to stop all its sessions at once does not close all its browsers at once.
        stopAsked: async (stops) => {
          const queue = [...stops];
          const stopNext = async (): Promise<void> => {
            for (let stop = queue.shift(); stop; stop = queue.shift()) {
              const { sessionId, epoch, logout, forgetLogin } = stop;
              await this.sessions.stopClient(sessionId, epoch, { logout, forgetLogin });
            }
          };
          await Promise.all(Array.from({ length: ASKED_STOPS_AT_ONCE }, stopNext));
        },
      },
    );
    this.sessions = new SessionHost(
      engine,
      signalAccountWorkflow(client),
      log,
      () => this.capacity.changed(),
      this.leases,
    );
    this.upkeep = new SessionUpkeep(
      this.sessions,
      (sightings) => recordSightings(pool, this.taskQueue, sightings),
      {
        everyMs: env.ENGINE_CHECK_EVERY_MS,
        answerWithinMs: env.ENGINE_CHECK_TIMEOUT_MS,
        missesBeforeRestart: env.ENGINE_CHECK_MISSES,
        memoryLimitBytes: env.ENGINE_MEMORY_LIMIT_MB > 0 ? env.ENGINE_MEMORY_LIMIT_MB * 1024 * 1024 : null,
        quietForMs: env.ENGINE_RECYCLE_QUIET_MS,
      },
      log,
    );
    this.report = new HostReport(
      pool,
      {
        taskQueue: this.taskQueue,
        engine: env.WA_ENGINE,
        seats: this.seats,
        startsPerSecond: this.startsPerSecond,
        leasesRenewedAt: () => this.leases.renewedAt(),
      },
      log,
    );
  }

  start(): void {
    this.leases.start();
    this.upkeep.start();
    this.report.start();
  }

  /** The host takes no more care of its sessions than handing them over, and says it drains. */
  async beginDrain(): Promise<void> {
    await this.report.drain();
    await this.upkeep.stop();
  }

  /**
   * Hands every session to the other hosts, at the pace they take them and within `graceMs`: each is stopped here
   * and its workflow told, so another host resumes it from its saved login without a scan.
   */
  async handOver(graceMs: number): Promise<{ handedOver: number; stoppedAtOnce: number; ownersNotTold: number }> {
    await this.beginDrain();
    const tellOwner = signalHostGone(this.parts.client);
    return this.sessions.handOver({
      perSecond: this.startsPerSecond,
      graceMs,
      tellOwner: (sessionId) => tellOwner(sessionId, this.taskQueue),
    });
  }

  /** Stops every session still here, then the leases and the engine. */
  async stop(): Promise<void> {
    await this.upkeep.stop();
    await this.sessions.stopAll();
    this.leases.stop();
    await this.report.stop();
    await this.parts.engine.close();
  }
}

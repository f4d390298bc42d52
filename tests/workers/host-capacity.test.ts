import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SlotReserveContext } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createPlacementActivities } from '../../activities/placement.js';
import { HostCapacity, hostSeats } from '../../workers/host-capacity.js';

const context = {} as SlotReserveContext;

describe('host capacity (the placement worker’s slot supplier)', () => {
  it('gives a poll slot only while a seat is free: running sessions, promised seats and held slots all count', async () => {
    let running = 0;
    const capacity = new HostCapacity(2, () => running);
    const supplier = capacity.slotSupplier();
    assert.ok(supplier.tryReserveSlot(context), 'an empty host polls');
    capacity.holdSeat('a'); // that poll got a claim for session a
    supplier.releaseSlot({} as never);
    assert.ok(supplier.tryReserveSlot(context), 'one seat promised, one free');
    capacity.holdSeat('b');
    supplier.releaseSlot({} as never);
    assert.equal(supplier.tryReserveSlot(context), null, 'two seats promised: full');
    capacity.seatTaken('a');
    running = 1;
    assert.equal(supplier.tryReserveSlot(context), null, 'a runs, b is promised: still full');
  });

  it('a host its lease store does not answer polls for no claim, with every seat free, until it answers again', async () => {
    let storeAnswers = false;
    const capacity = new HostCapacity(5, () => 0, { canTakeSessions: () => storeAnswers });
    const supplier = capacity.slotSupplier();
    assert.equal(supplier.tryReserveSlot(context), null, 'cut off from its lease store: no poll');
    let reserved = false;
    const reservation = supplier.reserveSlot(context, new AbortController().signal).then(() => {
      reserved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(reserved, false, 'a blocked reservation waits');
    storeAnswers = true;
    await reservation;
    assert.equal(reserved, true, 'it polls again once the store answers (checked at least every 500 ms)');
  });

  it('a claim a host polled for before its lease store stopped answering is handed back, holding no seat', async () => {
    let storeAnswers = true;
    const capacity = new HostCapacity(5, () => 0, { canTakeSessions: () => storeAnswers });
    const placement = createPlacementActivities('wa-host-cut', capacity);
    const supplier = capacity.slotSupplier();
    const pollSlot = supplier.tryReserveSlot(context);
    assert.ok(pollSlot, 'the poll was opened while the store answered');
    storeAnswers = false;
    await assert.rejects(placement.claimHost({ sessionId: 'a' }), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'HostCannotTakeSessions');
      assert.equal(error.nonRetryable, false, 'retried, on whichever host polls next');
      return true;
    });
    supplier.releaseSlot({ permit: pollSlot });
    assert.equal(capacity.used(), 0, 'no seat held for the handed-back claim');
    storeAnswers = true;
    assert.deepEqual(await placement.claimHost({ sessionId: 'a' }), { taskQueue: 'wa-host-cut' });
    assert.equal(capacity.used(), 1, 'once it answers again, a claim holds a seat here');
  });

  it('a blocked reservation goes ahead as soon as a session leaves the host', async () => {
    let running = 1;
    const capacity = new HostCapacity(1, () => running);
    const supplier = capacity.slotSupplier();
    let reserved = false;
    const reservation = supplier.reserveSlot(context, new AbortController().signal).then(() => {
      reserved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(reserved, false, 'a full host does not poll');
    running = 0;
    capacity.changed();
    await reservation;
    assert.equal(reserved, true);
  });

  it('an abandoned reservation ends with AbortError; a promised seat lapses when its session never starts', async () => {
    let now = 0;
    const capacity = new HostCapacity(1, () => 0, { now: () => now });
    capacity.holdSeat('never-started');
    const abort = new AbortController();
    const reservation = capacity.slotSupplier().reserveSlot(context, abort.signal);
    abort.abort();
    await assert.rejects(reservation, { name: 'AbortError' });
    assert.equal(capacity.used(), 1);
    now += 60_000;
    assert.equal(capacity.used(), 0, 'the promise lapsed');
  });

  it('takes claims at its start pace with jitter: a host restoring many sessions never starts them all at once', async () => {
    const capacity = new HostCapacity(100, () => 0, { startsPerSecond: 20 });
    const supplier = capacity.slotSupplier();
    const signal = new AbortController().signal;
    const startedAt = Date.now();
    const grantedAt: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      await supplier.reserveSlot(context, signal);
      grantedAt.push(Date.now() - startedAt);
      supplier.releaseSlot({} as never);
    }
    // 5 intervals of 50-75 ms each after the first: a generous lower bound, no upper one.
    assert.ok(grantedAt.at(-1)! >= 240, `six claims took ${grantedAt.join(', ')} ms`);
    assert.equal(supplier.tryReserveSlot(context), null, 'right after a permit, the next waits its interval');
  });

  it('sizes a real-engine host by its memory and the per-session budget; the setting wins', () => {
    const gib = 2 ** 30;
    assert.equal(
      hostSeats({ setting: undefined, engine: 'real', sessionMemoryBudgetMb: 400, memoryBytes: 24 * gib }),
      46,
    );
    assert.equal(
      hostSeats({ setting: undefined, engine: 'real', sessionMemoryBudgetMb: 400, memoryBytes: gib / 4 }),
      1,
    );
    assert.equal(hostSeats({ setting: 7, engine: 'real', sessionMemoryBudgetMb: 400 }), 7);
    assert.ok(hostSeats({ setting: undefined, engine: 'simulated', sessionMemoryBudgetMb: 400 }) >= 10_000);
  });
});

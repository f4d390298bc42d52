import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';
import { gatedSlots } from '../../workers/task-gate.js';

const context = {} as SlotReserveContext;

describe('gated poll slots (a host the database does not answer takes no task that needs it)', () => {
  it('lends up to its slots while open, none while closed, and a blocked reservation goes ahead once open', async () => {
    let open = true;
    const slots = gatedSlots<WorkflowSlotInfo>(2, () => open);
    assert.ok(slots.tryReserveSlot(context));
    assert.ok(slots.tryReserveSlot(context));
    assert.equal(slots.tryReserveSlot(context), null, 'two lent: full');
    slots.releaseSlot({} as never);
    open = false;
    assert.equal(slots.tryReserveSlot(context), null, 'a slot is free, but the gate is closed');
    let reserved = false;
    const reservation = slots.reserveSlot(context, new AbortController().signal).then(() => {
      reserved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(reserved, false, 'a reservation waits while the gate is closed');
    open = true;
    await reservation;
    assert.equal(reserved, true);
  });

  it('an abandoned reservation ends with an AbortError', async () => {
    const slots = gatedSlots<WorkflowSlotInfo>(1, () => false);
    const abort = new AbortController();
    const reservation = slots.reserveSlot(context, abort.signal);
    abort.abort();
    await assert.rejects(reservation, { name: 'AbortError' });
  });
});

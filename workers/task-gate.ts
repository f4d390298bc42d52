import type { CustomSlotSupplier, SlotInfo, SlotPermit } from '@temporalio/worker';

/** A waiting reservation looks again this often. */
const RECHECK_MS = 500;

/**
 * Poll slots for one of a worker's task kinds: up to `slots` at once, and none while `open()` is false. A host that
 * cannot reach the database asks Temporal for no task that needs it: workflow tasks write their rows through local
 * activities, which would retry inside a task held by this host for as long as the outage lasts. Its cached
 * workflows' tasks then pass from its own (sticky) queue to the shared one, where a host that reaches the database
 * takes them. (Temporal's worker tuning with a slot supplier of our own.)
 */
export function gatedSlots<Info extends SlotInfo>(slots: number, open: () => boolean): CustomSlotSupplier<Info> {
  let used = 0;
  const take = (): SlotPermit => {
    used += 1;
    return {};
  };
  return {
    type: 'custom',
    reserveSlot: async (_context, abortSignal) => {
      while (used >= slots || !open()) {
        if (abortSignal.aborted) throw abandoned();
        await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
      }
      return take();
    },
    tryReserveSlot: () => (used < slots && open() ? take() : null),
    markSlotUsed: () => undefined,
    releaseSlot: () => {
      used = Math.max(0, used - 1);
    },
  };
}

function abandoned(): Error {
  const error = new Error('the reservation was abandoned');
  error.name = 'AbortError';
  return error;
}

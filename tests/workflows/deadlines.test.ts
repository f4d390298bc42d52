import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstDueDeadline, msUntilNextDeadline, type DeadlineTimes } from '../../workflows/deadlines.js';

describe('account workflow deadlines', () => {
  it('reports the wait until the earliest deadline, 0 once one is due, null when none is set', () => {
    assert.equal(msUntilNextDeadline({}, 1_000), null);
    const deadlines: DeadlineTimes = { qrExpiry: 5_000, readyBy: 3_000 };
    assert.equal(msUntilNextDeadline(deadlines, 1_000), 2_000);
    assert.equal(msUntilNextDeadline(deadlines, 4_000), 0);
  });

  it('hands out due deadlines in handling order, and none before it is due', () => {
    const deadlines: DeadlineTimes = { reconnectBy: 1_000, qrExpiry: 2_000, reconnectAt: 9_000 };
    assert.equal(firstDueDeadline(deadlines, 500), null);
    assert.equal(
      firstDueDeadline(deadlines, 3_000),
      'qrExpiry',
      'qrExpiry comes before reconnectBy though it is later',
    );
    delete deadlines.qrExpiry;
    assert.equal(firstDueDeadline(deadlines, 3_000), 'reconnectBy');
    delete deadlines.reconnectBy;
    assert.equal(firstDueDeadline(deadlines, 3_000), null);
    assert.equal(msUntilNextDeadline(deadlines, 3_000), 6_000);
  });
});

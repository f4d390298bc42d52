import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deadlines } from '../../workflows/deadlines.js';

describe('account workflow deadlines', () => {
  it('reports the wait until the earliest deadline, 0 once one is due, null when none is set', () => {
    const deadlines = new Deadlines();
    assert.equal(deadlines.msUntilNext(1_000), null);
    deadlines.set('qrExpiry', 5_000);
    deadlines.set('readyBy', 3_000);
    assert.equal(deadlines.msUntilNext(1_000), 2_000);
    assert.equal(deadlines.msUntilNext(4_000), 0);
  });

  it('hands out due deadlines in handling order, each once, and leaves the others', () => {
    const deadlines = new Deadlines();
    deadlines.set('reconnectBy', 1_000);
    deadlines.set('qrExpiry', 2_000);
    deadlines.set('reconnectAt', 9_000);
    assert.equal(deadlines.takeDue(500), null);
    assert.equal(deadlines.takeDue(3_000), 'qrExpiry', 'qrExpiry comes before reconnectBy though it is later');
    assert.equal(deadlines.takeDue(3_000), 'reconnectBy');
    assert.equal(deadlines.takeDue(3_000), null);
    assert.equal(deadlines.has('reconnectAt'), true);
    deadlines.clear('reconnectAt');
    assert.equal(deadlines.msUntilNext(3_000), null);
  });
});

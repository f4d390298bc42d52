import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DrainPace } from '../../engine/drain-pace.js';

/** Hands over sessions `fleet-<from>` .. `fleet-<to - 1>` at `now`. */
function handOver(pace: DrainPace, from: number, to: number, now: number): void {
  for (let i = from; i < to; i += 1) pace.handedOver(`fleet-${i}`, now);
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `fleet-${from + i}`);

describe('the pace of a drain the other hosts absorb', () => {
  it('before any session has landed, eight may wait for a host at once and the ninth waits its turn', () => {
    const pace = new DrainPace();
    handOver(pace, 0, 7, 0);
    assert.equal(pace.mayHandOver(10), true);
    handOver(pace, 7, 8, 10);
    assert.equal(pace.mayHandOver(20), false);
  });

  it('each landing frees a place', () => {
    const pace = new DrainPace();
    handOver(pace, 0, 8, 0);
    assert.equal(pace.mayHandOver(100), false);
    pace.landed(['fleet-3'], 200);
    assert.equal(pace.stillWaiting().length, 7);
    assert.equal(pace.mayHandOver(200), true);
  });

  it('a fleet landing 40 a second lets 200 wait at once: five seconds of its landings', () => {
    const pace = new DrainPace();
    // 200 landings over the last 5 s: 40 a second.
    handOver(pace, 0, 200, 0);
    for (let i = 0; i < 200; i += 1) pace.landed([`fleet-${i}`], 1_001 + i * 25);
    assert.equal(pace.allowedInFlight(5_999), 200);
    handOver(pace, 200, 399, 6_000);
    assert.equal(pace.mayHandOver(6_000), true, '199 waiting of 200 allowed');
    handOver(pace, 399, 400, 6_000);
    assert.equal(pace.mayHandOver(6_000), false, '200 waiting of 200 allowed');
  });

  it('landings older than the rate window no longer count: a fleet that stopped landing is back to eight', () => {
    const pace = new DrainPace();
    handOver(pace, 0, 100, 0);
    pace.landed(names(0, 100), 1_000);
    assert.equal(pace.allowedInFlight(1_000), 100);
    assert.equal(pace.allowedInFlight(6_001), 8);
  });

  it('a hand-over not seen landing within 20 s stops holding a place', () => {
    const pace = new DrainPace();
    handOver(pace, 0, 8, 0);
    assert.equal(pace.mayHandOver(19_999), false);
    assert.equal(pace.mayHandOver(20_000), true);
  });

  it('no hand-over landing within 10 s of the first means no other host takes sessions; one landing means one does', () => {
    const alone = new DrainPace();
    handOver(alone, 0, 8, 0);
    assert.equal(alone.nobodyTakes(9_999), false);
    assert.equal(alone.nobodyTakes(10_000), true);
    const fleet = new DrainPace();
    handOver(fleet, 0, 8, 0);
    fleet.landed(['fleet-5'], 9_000);
    assert.equal(fleet.nobodyTakes(60_000), false);
    assert.equal(new DrainPace().nobodyTakes(60_000), false, 'nothing handed over yet');
  });

  it('a session named landed twice, or never handed over, counts once or not at all', () => {
    const pace = new DrainPace();
    handOver(pace, 0, 1, 0);
    pace.landed(['fleet-0', 'fleet-0', 'elsewhere'], 100);
    assert.deepEqual(pace.stillWaiting(), []);
    // One landing in the window: 0.2 a second, times 5 s, is under the floor.
    assert.equal(pace.allowedInFlight(100), 8);
  });
});

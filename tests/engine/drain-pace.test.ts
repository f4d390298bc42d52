import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DRAIN_PACE_TIMINGS, DrainPace, type LandingLook } from '../../engine/drain-pace.js';

/** The other hosts as the lease store shows them: which sessions they hold, on a clock the test sets. */
class Fleet {
  now = 0;
  readonly leased = new Set<string>();
  answers = true;
  readonly look: LandingLook = async (sessionIds) =>
    this.answers ? new Set(sessionIds.filter((id) => this.leased.has(id))) : null;

  pace(): DrainPace {
    return new DrainPace(this.look, DRAIN_PACE_TIMINGS, () => this.now);
  }

  /** Hands over `fleet-<from>` .. `fleet-<to - 1>` now. */
  handOver(pace: DrainPace, from: number, to: number): void {
    for (let i = from; i < to; i += 1) pace.handedOver(`fleet-${i}`);
  }

  /** At `at`, these sessions run under another host's lease and the drain looks. */
  async land(pace: DrainPace, at: number, ...sessionIds: string[]): Promise<void> {
    this.now = at;
    for (const id of sessionIds) this.leased.add(id);
    await pace.lookForLandings(Number.POSITIVE_INFINITY);
  }
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `fleet-${from + i}`);

describe('the pace of a drain the other hosts absorb', () => {
  it('before any session has landed, eight may wait for a host at once and the ninth waits its turn', () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 7);
    assert.equal(pace.mayHandOver(), true);
    fleet.handOver(pace, 7, 8);
    assert.equal(pace.mayHandOver(), false);
  });

  it('each landing frees a place', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 8);
    assert.equal(pace.mayHandOver(), false);
    await fleet.land(pace, 200, 'fleet-3');
    assert.equal(pace.mayHandOver(), true);
  });

  it('a fleet landing 40 a second lets 200 wait at once: five seconds of its landings', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 200);
    for (let i = 0; i < 200; i += 1) await fleet.land(pace, 1_001 + i * 25, `fleet-${i}`);
    fleet.now = 6_000;
    assert.equal(pace.allowedInFlight(), 200);
    fleet.handOver(pace, 200, 399);
    assert.equal(pace.mayHandOver(), true, '199 waiting of 200 allowed');
    fleet.handOver(pace, 399, 400);
    assert.equal(pace.mayHandOver(), false, '200 waiting of 200 allowed');
  });

  it('landings older than the rate window no longer count: a fleet that stopped landing is back to eight', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 100);
    await fleet.land(pace, 1_000, ...names(0, 100));
    assert.equal(pace.allowedInFlight(), 100);
    fleet.now = 6_001;
    assert.equal(pace.allowedInFlight(), 8);
  });

  it('a hand-over not seen landing within 20 s stops holding a place', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 8);
    // Another host keeps landing other sessions, so the drain is not taken for one nobody serves.
    for (let at = 1_000; at < 20_000; at += 1_000) {
      pace.handedOver(`other-${at}`);
      await fleet.land(pace, at, `other-${at}`);
    }
    fleet.now = 19_999;
    assert.equal(pace.mayHandOver(), false);
    fleet.now = 20_000;
    assert.equal(pace.mayHandOver(), true);
    assert.equal(pace.nobodyTakes(), false);
  });

  it('hand-overs waiting with none landing for 10 s of answers mean no other host takes sessions, even after earlier landings', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 8);
    await fleet.land(pace, 9_999);
    assert.equal(pace.nobodyTakes(), false);
    await fleet.land(pace, 10_000);
    assert.equal(pace.nobodyTakes(), true, 'nothing landed: a host alone');

    const filling = new Fleet();
    const later = filling.pace();
    filling.handOver(later, 0, 8);
    await filling.land(later, 1_000, 'fleet-0', 'fleet-1');
    filling.now = 2_000;
    filling.handOver(later, 8, 10);
    await filling.land(later, 10_999);
    assert.equal(later.nobodyTakes(), false);
    await filling.land(later, 11_000);
    assert.equal(later.nobodyTakes(), true, 'the others filled up after taking two');
    assert.equal(new Fleet().pace().nobodyTakes(), false, 'nothing handed over yet');
  });

  it('time the lease store does not answer counts for nothing toward "nobody takes"', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 8);
    fleet.answers = false;
    await fleet.land(pace, 30_000);
    assert.equal(pace.nobodyTakes(), false);
  });

  it('a session named landed twice, or never handed over, counts once or not at all', async () => {
    const fleet = new Fleet();
    const pace = fleet.pace();
    fleet.handOver(pace, 0, 1);
    await fleet.land(pace, 100, 'fleet-0', 'elsewhere');
    await fleet.land(pace, 200, 'fleet-0');
    assert.equal(pace.nobodyTakes(), false, 'none waiting');
    // One landing in the window: 0.2 a second, times 5 s, is under the floor.
    assert.equal(pace.allowedInFlight(), 8);
  });
});

describe('a drain waiting its turn, on the real clock', () => {
  const quick = { ...DRAIN_PACE_TIMINGS, nobodyTakesMs: 60, lookEveryMs: 5, lookWithinMs: 20 };

  it('goes at once while fewer than the allowed wait', async () => {
    const pace = new DrainPace(async () => new Set());
    assert.equal(await pace.nextTurn(performance.now() + 1_000), 'go');
  });

  it('waits while the allowed wait, and goes as soon as one lands', async () => {
    const leased = new Set<string>();
    const pace = new DrainPace(async (ids) => new Set(ids.filter((id) => leased.has(id))), {
      ...quick,
      nobodyTakesMs: 5_000,
    });
    for (let i = 0; i < 8; i += 1) pace.handedOver(`s-${i}`);
    setTimeout(() => leased.add('s-4'), 30);
    const startedAt = performance.now();
    assert.equal(await pace.nextTurn(startedAt + 1_000), 'go');
    assert.ok(performance.now() - startedAt >= 25, 'it waited for the landing');
  });

  it('stops when nobody takes the hand-overs, before its grace', async () => {
    const pace = new DrainPace(async () => new Set(), quick);
    for (let i = 0; i < 8; i += 1) pace.handedOver(`s-${i}`);
    const startedAt = performance.now();
    assert.equal(await pace.nextTurn(startedAt + 5_000), 'stop');
    assert.ok(performance.now() - startedAt < 1_000);
  });

  it('a lease store that never answers holds the drain no longer than its grace, and is not taken for nobody', async () => {
    const pace = new DrainPace(() => new Promise(() => undefined), quick);
    for (let i = 0; i < 8; i += 1) pace.handedOver(`s-${i}`);
    const startedAt = performance.now();
    assert.equal(await pace.nextTurn(startedAt + 300), 'stop');
    const tookMs = performance.now() - startedAt;
    assert.ok(tookMs >= 295 && tookMs < 600, `stopped after ${tookMs} ms: at the grace, not before`);
  });
});

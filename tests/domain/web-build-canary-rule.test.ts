import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeCanary, type ArmFigures } from '../../domain/web-build-canary-rule.js';

const arm = (
  starts: number,
  failures: number,
  p50Ms: number | null = 1_000,
  p95Ms: number | null = 2_000,
): ArmFigures => ({
  starts,
  failures,
  p50Ms,
  p95Ms,
});
const rule = { minStarts: 10, readyWithinSeconds: 60, candidateBuild: '2.3000.2' };

describe('the canary rule: promote, roll back or wait', () => {
  it('rolls back once 3 starts failed and the candidate fails 20 points more often than the current build', () => {
    assert.equal(judgeCanary(arm(3, 3, null, null), arm(0, 0, null, null), rule).decision, 'roll_back');
    assert.equal(
      judgeCanary(arm(2, 2, null, null), arm(0, 0, null, null), rule).decision,
      'wait',
      'two failures are not yet a pattern',
    );
    assert.equal(judgeCanary(arm(10, 3), arm(10, 2), rule).decision, 'wait', 'as flaky as the current build');
    assert.match(
      judgeCanary(arm(4, 3), arm(8, 0), rule).reason,
      /^3 of 4 starts on 2\.3000\.2 never reached a working page within 60 s \(75 %\), against 0 of 8 on the current build \(0 %\)$/,
    );
  });

  it('rolls back a candidate more than twice as slow to a working page (p50), once it has its starts', () => {
    assert.equal(judgeCanary(arm(10, 0, 2_500, 3_000), arm(10, 0, 1_000, 2_000), rule).decision, 'roll_back');
    assert.equal(judgeCanary(arm(9, 0, 2_500, 3_000), arm(10, 0, 1_000, 2_000), rule).decision, 'wait');
  });

  it('promotes with its starts, a failure rate within 5 points and a p95 within 1.5× of the current build', () => {
    assert.equal(judgeCanary(arm(10, 0, 1_100, 2_900), arm(10, 0, 1_000, 2_000), rule).decision, 'promote');
    assert.equal(judgeCanary(arm(10, 0, 1_100, 3_100), arm(10, 0, 1_000, 2_000), rule).decision, 'wait');
    assert.equal(judgeCanary(arm(10, 1), arm(10, 0), rule).decision, 'wait', '10 points more failures');
    assert.equal(
      judgeCanary(arm(10, 0), arm(0, 0, null, null), rule).decision,
      'promote',
      'nothing to compare times with',
    );
    assert.equal(judgeCanary(arm(9, 0), arm(10, 0), rule).decision, 'wait');
  });
});

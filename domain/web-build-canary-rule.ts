/**
 * When a canary WhatsApp Web build is promoted or rolled back: the two arms' starts over the same period compared.
 * A start counts once it is settled: its page worked (its QR, or connected with a saved login), or it did not within
 * the canary's `readyWithinSeconds`, a failure.
 */
export interface ArmFigures {
  /** Settled starts. */
  starts: number;
  failures: number;
  /** Time to a working page of the starts that got one, in ms. */
  p50Ms: number | null;
  p95Ms: number | null;
}

export type CanaryVerdict =
  { decision: 'wait'; reason: string } | { decision: 'promote' | 'roll_back'; reason: string };

/** Failures before a rollback: enough that one unlucky start does not end a canary. */
export const ROLLBACK_MIN_FAILURES = 3;
/** How many points the candidate's failure rate may exceed the current build's before it is rolled back. */
export const ROLLBACK_FAILURE_MARGIN = 0.2;
/** How many points it may exceed it by and still be promoted. */
export const PROMOTE_FAILURE_MARGIN = 0.05;
/** How much slower to a working page than the current build (p50 to roll back, p95 to promote). */
export const ROLLBACK_SLOWER = 2;
export const PROMOTE_SLOWER = 1.5;
/** Starts with a time of the current build before its times are compared with. */
const TIMES_COMPARED_FROM = 3;

const rate = (arm: ArmFigures) => (arm.starts === 0 ? 0 : arm.failures / arm.starts);
const percent = (value: number) => `${Math.round(value * 100)} %`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function judgeCanary(
  candidate: ArmFigures,
  current: ArmFigures,
  rule: { minStarts: number; readyWithinSeconds: number; candidateBuild: string },
): CanaryVerdict {
  const within = `within ${rule.readyWithinSeconds} s`;
  const failuresText = (arm: ArmFigures) => `${arm.failures} of ${arm.starts}`;
  if (candidate.failures >= ROLLBACK_MIN_FAILURES && rate(candidate) >= rate(current) + ROLLBACK_FAILURE_MARGIN) {
    return {
      decision: 'roll_back',
      reason: `${failuresText(candidate)} starts on ${rule.candidateBuild} never reached a working page ${within} (${percent(rate(candidate))}), against ${failuresText(current)} on the current build (${percent(rate(current))})`,
    };
  }
  const timesComparable =
    current.starts - current.failures >= TIMES_COMPARED_FROM && current.p50Ms !== null && current.p95Ms !== null;
  if (
    candidate.starts >= rule.minStarts &&
    timesComparable &&
    candidate.p50Ms !== null &&
    candidate.p50Ms > ROLLBACK_SLOWER * (current.p50Ms ?? 0)
  ) {
    return {
      decision: 'roll_back',
      reason: `starts on ${rule.candidateBuild} took ${seconds(candidate.p50Ms)} to a working page (p50), more than ${ROLLBACK_SLOWER}× the current build's ${seconds(current.p50Ms ?? 0)}`,
    };
  }
  if (candidate.starts < rule.minStarts)
    return {
      decision: 'wait',
      reason: `${candidate.starts} of ${rule.minStarts} starts on ${rule.candidateBuild} so far`,
    };
  if (rate(candidate) > rate(current) + PROMOTE_FAILURE_MARGIN)
    return {
      decision: 'wait',
      reason: `${failuresText(candidate)} starts failed on ${rule.candidateBuild}, against ${failuresText(current)} on the current build: not yet clear`,
    };
  if (timesComparable && candidate.p95Ms !== null && candidate.p95Ms > PROMOTE_SLOWER * (current.p95Ms ?? 0))
    return {
      decision: 'wait',
      reason: `p95 to a working page ${seconds(candidate.p95Ms)} on ${rule.candidateBuild}, against ${seconds(current.p95Ms ?? 0)}: not yet clear`,
    };
  return {
    decision: 'promote',
    reason: `${candidate.starts - candidate.failures} of ${candidate.starts} starts on ${rule.candidateBuild} reached a working page ${within}${candidate.p50Ms !== null ? ` (p50 ${seconds(candidate.p50Ms)})` : ''}, against ${current.starts - current.failures} of ${current.starts} on the current build${current.p50Ms !== null ? ` (p50 ${seconds(current.p50Ms)})` : ''}`,
  };
}

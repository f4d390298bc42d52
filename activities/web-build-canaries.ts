import { log } from '@temporalio/activity';
import type { DatabasePool } from 'slonik';
import { canaryFigures, decideCanary, findCanary } from '../db/web-build-canaries.js';
import { judgeCanary } from '../domain/web-build-canary-rule.js';

/** What one look at a canary found, and what was done about it. */
export interface CanaryLook {
  /** `running`: still undecided; anything else: it ended, by this look or before it (an operator stopped it). */
  state: 'running' | 'promoted' | 'rolled_back' | 'stopped' | 'gone';
  reason: string;
  /** After a rollback: the accounts whose start on the candidate never worked, to start again on the current build. */
  restartSessionKeys: string[];
}

/** The canary's judge: compares the two arms by the rule (domain/web-build-canary-rule.ts) and records a decision. */
export function createWebBuildCanaryActivities(pool: DatabasePool) {
  return {
    async judgeWebBuildCanary(canaryId: number): Promise<CanaryLook> {
      const canary = await findCanary(pool, canaryId);
      if (!canary) return { state: 'gone', reason: 'no such canary', restartSessionKeys: [] };
      if (canary.state !== 'running')
        return {
          state: canary.state,
          reason: canary.decision_reason ?? canary.state,
          // A look retried after its rollback committed still restarts the accounts the candidate failed.
          restartSessionKeys: canary.state === 'rolled_back' ? [...canary.restart_session_keys] : [],
        };
      const figures = await canaryFigures(pool, canary);
      const verdict = judgeCanary(figures.candidate, figures.current, {
        minStarts: canary.min_starts,
        readyWithinSeconds: canary.ready_within_seconds,
        candidateBuild: canary.candidate,
      });
      if (verdict.decision === 'wait') return { state: 'running', reason: verdict.reason, restartSessionKeys: [] };
      const state = verdict.decision === 'promote' ? 'promoted' : 'rolled_back';
      const decided = await decideCanary(pool, canary, { state, reason: verdict.reason, figures }, (restarted) => ({
        workspaceId: null,
        actorKind: 'service',
        actorKeyPrefix: null,
        actorName: 'web build canary',
        clientAddress: 'service',
        action: state === 'promoted' ? 'promote web build' : 'roll back web build',
        target: canary.candidate,
        changes: { canaryId, state, reason: verdict.reason, figures, restarted: restarted.length },
        statusCode: 200,
        outcome: 'done',
        requestId: `canary-${canaryId}-${state}`,
      }));
      if (!decided.applied) {
        // Stopped by an operator meanwhile: theirs is the decision.
        const now = await findCanary(pool, canaryId);
        return { state: now?.state ?? 'gone', reason: now?.decision_reason ?? 'stopped', restartSessionKeys: [] };
      }
      log.warn('web build canary decided', { canaryId, candidate: canary.candidate, state, reason: verdict.reason });
      return { state, reason: verdict.reason, restartSessionKeys: [...decided.restartSessionKeys] };
    },
  };
}

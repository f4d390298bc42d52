import { getExternalWorkflowHandle, proxyActivities, sleep } from '@temporalio/workflow';
import type { WebBuildCanaryActivities } from '../activities/index.js';
import type { CanaryLook } from '../activities/web-build-canaries.js';
import { workflowIdOfSessionKey } from './ids.js';
import { restartAccountSignal } from './messages.js';
import { checkedInput, isCount, readableResults, type Fields } from './payload-checks.js';

export interface WebBuildCanaryInput {
  canaryId: number;
  /** How often the two arms are compared. */
  judgeEverySeconds: number;
}

const { judgeWebBuildCanary } = readableResults(
  proxyActivities<WebBuildCanaryActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '5 seconds', maximumInterval: '1 minute' },
  }),
);

/**
 * One canary WhatsApp Web build, from its start to its decision: every `judgeEverySeconds` its arms are compared
 * (activities/web-build-canaries.ts), until the rule promotes or rolls it back or an operator stops it. After a
 * rollback, each account whose start on the candidate never worked is restarted: the canary has ended, so it starts
 * on the current build, from its saved login where it has one.
 */
export async function webBuildCanary(canaryInput: WebBuildCanaryInput): Promise<CanaryLook> {
  const input = checkedInput<WebBuildCanaryInput>(canaryInput, isWebBuildCanaryInput, 'webBuildCanary');
  for (;;) {
    await sleep(input.judgeEverySeconds * 1000);
    const look = await judgeWebBuildCanary(input.canaryId);
    if (look.state === 'running') continue;
    for (const key of look.restartSessionKeys) {
      const workflowId = workflowIdOfSessionKey(key);
      // An account that ended meanwhile has nothing to restart.
      await getExternalWorkflowHandle(workflowId)
        .signal(restartAccountSignal, { workflowId })
        .catch(() => undefined);
    }
    return look;
  }
}

function isWebBuildCanaryInput(fields: Fields): boolean {
  return isCount(fields.canaryId) && isCount(fields.judgeEverySeconds) && Number(fields.judgeEverySeconds) >= 1;
}

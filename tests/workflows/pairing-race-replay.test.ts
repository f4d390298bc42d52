import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { submitPhoneAction } from '../../engine/phone/actions.js';
import { deleteAccountSignal, requestPairingCodeUpdate, signalAccount } from '../../workflows/messages.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { randomPhone } from '../helpers/accounts.js';
import { eventually, testStackEnv } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/**
 * The row writes run as local activities in the main loop; the pairing-code update hands its work to that loop. These
 * runs race updates against QR events and against the QR deadline's timer on a real server, then replay the
 * resulting histories against the same code: an interleaving that replays differently fails here (a local activity
 * run from the update handler once did).
 */
describe('pairing-code updates racing the main loop replay deterministically', { timeout: 180_000 }, () => {
  const stack = useSimulatedWorkerStack();

  const requestCodes = (handle: WorkflowHandle, count: number) =>
    Promise.allSettled(
      Array.from({ length: count }, () =>
        handle.executeUpdate(requestPairingCodeUpdate, {
          args: [{ workflowId: handle.workflowId, phoneNumber: randomPhone() }],
        }),
      ),
    );

  const replay = async (handle: WorkflowHandle, name: string) => {
    const history = await handle.fetchHistory();
    await writeFile(join(testStackEnv().outputDir, `${name}-history.json`), historyToJSON(history));
    await Worker.runReplayHistory(
      { workflowsPath: WORKFLOWS_PATH, dataConverter: dataConverterFromEnv(process.env) },
      history,
      handle.workflowId,
    );
  };

  it('updates among QR refreshes, then a pairing-code login, connected and deleted', async () => {
    const { sessionId, handle } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    const answers = await requestCodes(handle, 4);
    const codes = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value.code] : []));
    assert.equal(codes.length, 4, `every update answered with a code: ${JSON.stringify(answers)}`);
    // The loop answered them one at a time, and the phone shows the code of whichever it answered last. Each code
    // also comes back as an engine event, which the loop may take between the answers: until the last is handled,
    // the row may show an earlier code, which the phone refuses. The phone is asked again with what the row shows.
    const enteredCode = await eventually(
      async () => {
        const row = await stack.accounts.row(sessionId);
        if (!codes.includes(row?.pairing_code ?? '')) return undefined;
        const outcome = await submitPhoneAction(stack.pool, await stack.accounts.key(sessionId), 'enter_code', {
          code: row?.pairing_code,
        });
        return outcome.state === 'applied' ? row?.pairing_code : undefined;
      },
      20_000,
      'the phone taking the code the row shows',
    );
    assert.ok(codes.includes(enteredCode ?? ''), 'the code entered is one the updates answered');
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    // Too late for a pairing code: refused by the validator, nothing written.
    const late = await requestCodes(handle, 1);
    assert.equal(late[0]?.status, 'rejected');
    await signalAccount(handle, deleteAccountSignal);
    await handle.result();
    await replay(handle, 'pairing-race-connected');
  });

  it('updates arriving as the QR deadline fires: answered or refused, never stuck, and the account fails qr_expired', async () => {
    // Four accounts, updates at different spacings until after the account ended: some land before the QR deadline,
    // some in the same workflow task as its timer firing, some after the account ended. The deadline counts from the
    // workflow's start, so it leaves room for a busy machine to bring up the QR first; the widest spacing leaves the
    // loop idle long enough for the deadline to fire as a timer.
    const handles = await Promise.all(
      [100, 250, 400, 1_000].map(async (spacingMs) => {
        const { sessionId, handle } = await stack.accounts.create({ timings: { qrExpiryMs: 6_000 } });
        await stack.accounts.showingQr(sessionId);
        const result = handle.result();
        let over = false;
        result.then(
          () => (over = true),
          () => (over = true),
        );
        const answers: Array<Awaited<ReturnType<typeof requestCodes>>[number]> = [];
        const afterTheEnd: typeof answers = [];
        // Far past the deadline: an account still running then is stuck, and the assertion below says so.
        const giveUpAt = Date.now() + 60_000;
        while (afterTheEnd.length < 2 && Date.now() < giveUpAt) {
          const endedBefore = over;
          const [answer] = await requestCodes(handle, 1);
          if (answer) (endedBefore ? afterTheEnd : answers).push(answer);
          await new Promise((resolve) => setTimeout(resolve, spacingMs));
        }
        assert.equal(afterTheEnd.length, 2, 'the account ended within a minute of its QR deadline');
        answers.push(...afterTheEnd);
        for (const answer of answers) {
          if (answer.status === 'rejected')
            assert.ok(
              answer.reason instanceof WorkflowUpdateFailedError ||
                /not found|completed|aborted by closing/i.test(String(answer.reason)),
              String(answer.reason),
            );
        }
        assert.ok(
          answers.some((answer) => answer.status === 'fulfilled'),
          'some update before the deadline got a code',
        );
        assert.ok(
          afterTheEnd.every((answer) => answer.status === 'rejected'),
          'the updates sent after the account ended were refused',
        );
        const ended = await result;
        assert.equal(ended.status, 'failed');
        assert.equal((await stack.accounts.row(sessionId))?.failure_reason, 'qr_expired');
        return handle;
      }),
    );
    // One replay at a time: replay workers do not run side by side.
    const fired: boolean[] = [];
    for (const [index, handle] of handles.entries()) {
      await replay(handle, `pairing-race-qr-expired-${index}`);
      fired.push((await handle.fetchHistory()).events?.some((event) => event.timerFiredEventAttributes) ?? false);
    }
    assert.ok(fired.some(Boolean), 'in at least one run the QR deadline fired as a timer among the updates');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deleteAccountSignal, signalAccount } from '../../workflows/messages.js';
import { FAST_SIMULATOR_ENV } from '../helpers/accounts.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

/** A host takes sessions only while it has a free seat; an account that finds every host full waits, visibly. */
describe('host capacity', { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack({ ...FAST_SIMULATOR_ENV, HOST_SESSION_CAPACITY: '2' });

  it('a host with 2 seats runs 2 sessions; the third account waits (waiting_for_host) and starts when a seat frees', async () => {
    const timings = { hostWaitNoticeMs: 500 };
    const first = await stack.accounts.create({ timings });
    const second = await stack.accounts.create({ timings });
    await stack.accounts.showingQr(first.sessionId);
    await stack.accounts.showingQr(second.sessionId);

    const third = await stack.accounts.create({ timings });
    const waited = async () => (await stack.accounts.eventTypes(third.sessionId)).includes('waiting_for_host');
    for (let tries = 0; tries < 100 && !(await waited()); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(await waited(), 'the third account says it waits for a host');
    assert.equal((await stack.accounts.row(third.sessionId))?.last_qr, null, 'no host started it: no QR');

    const secondEventsBefore = (await stack.accounts.eventTypes(second.sessionId)).length;
    await signalAccount(first.handle, deleteAccountSignal);
    const placed = await stack.accounts.showingQr(third.sessionId);
    assert.ok(placed.last_qr, 'a seat freed: the third account runs and shows a QR');
    // Its session kept running on its seat: since the delete it only rotated its QR (no stop, no new start).
    const secondEventsSince = (await stack.accounts.eventTypes(second.sessionId)).slice(secondEventsBefore);
    assert.deepEqual(
      secondEventsSince.filter((type) => type !== 'qr'),
      [],
      `the second account is untouched: ${secondEventsSince.join(', ')}`,
    );
  });
});

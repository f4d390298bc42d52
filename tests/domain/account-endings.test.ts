import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountHasEnded, ENDED_WHILE_DISCONNECTED } from '../../domain/account-endings.js';

describe('an account that has ended, as its row says (a pure function)', () => {
  const row = (status: string, failureReason: string | null = null, deleted = false) => ({
    deleted,
    status,
    failureReason,
  });

  it('deleted, failed, or disconnected by a logout or a delete has ended', () => {
    assert.deepEqual([...ENDED_WHILE_DISCONNECTED].sort(), [
      'deleted',
      'logged_out',
      'logged_out_from_phone',
      'login_lost',
    ]);
    assert.equal(accountHasEnded(row('connected', null, true)), true);
    assert.equal(accountHasEnded(row('failed', 'qr_expired')), true);
    assert.equal(accountHasEnded(row('disconnected', 'logged_out')), true);
    assert.equal(accountHasEnded(row('disconnected', 'login_lost:LOGOUT')), true);
  });

  it('a drop it reconnects from, or a disconnect with no reason, has not', () => {
    for (const reason of [
      'transient:NAVIGATION',
      'transient:unresponsive',
      'conflict',
      'host_lost',
      'restart_requested',
      null,
    ])
      assert.equal(accountHasEnded(row('disconnected', reason)), false, String(reason));
    assert.equal(accountHasEnded(row('connected')), false);
    assert.equal(accountHasEnded(row('qr_scanning')), false);
  });
});

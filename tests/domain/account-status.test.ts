import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACCOUNT_STATUSES, canMoveTo, isAccountStatus, type AccountStatus } from '../../domain/account-status.js';

/** Every pair of statuses, and whether the status flow allows the move: the whole table, so a change shows here. */
const ALLOWED: Record<AccountStatus, AccountStatus[]> = {
  qr_scanning: ['qr_scanning', 'authenticated', 'failed'],
  authenticated: ['authenticated', 'connected', 'disconnected', 'failed'],
  connected: ['connected', 'disconnected', 'failed'],
  disconnected: ['disconnected', 'authenticated', 'connected', 'failed'],
  failed: ['failed'],
};

describe('account status flow', () => {
  for (const from of ACCOUNT_STATUSES) {
    for (const to of ACCOUNT_STATUSES) {
      const allowed = ALLOWED[from].includes(to);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        assert.equal(canMoveTo(from, to), allowed);
      });
    }
  }

  it('failed is final and nothing returns to qr_scanning', () => {
    for (const to of ACCOUNT_STATUSES) if (to !== 'failed') assert.equal(canMoveTo('failed', to), false);
    for (const from of ACCOUNT_STATUSES)
      if (from !== 'qr_scanning') assert.equal(canMoveTo(from, 'qr_scanning'), false);
  });

  it('knows its statuses and nothing else', () => {
    for (const status of ACCOUNT_STATUSES) assert.equal(isAccountStatus(status), true);
    for (const other of ['logged_in', '', null, 3, 'CONNECTED']) assert.equal(isAccountStatus(other), false);
  });
});

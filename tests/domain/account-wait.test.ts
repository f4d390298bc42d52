import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAccount, describeEvent, describeReason, type DescribedAccount } from '../../domain/account-wait.js';

const NOW = 1_800_000_000_000;
const scanning: DescribedAccount = {
  status: 'qr_scanning',
  failureReason: null,
  wait: null,
  showsQr: false,
  showsPairingCode: false,
  deleted: false,
};

describe('what an account waits for, in words', () => {
  it('a scheduled retry says which attempt, when, and why the last failed', () => {
    const wait = {
      kind: 'engine_retry',
      attempt: 3,
      maxAttempts: 13,
      reconnecting: false,
      reason: 'whatsapp_unreachable',
      nextTryAt: NOW + 8_200,
    } as const;
    assert.equal(
      describeAccount({ ...scanning, wait }, NOW),
      'starting WhatsApp Web, attempt 3 of 13, next in 8 s: WhatsApp Web unreachable',
    );
    assert.equal(
      describeAccount({ ...scanning, wait }, NOW + 9_000),
      'starting WhatsApp Web, attempt 3 of 13, due now: WhatsApp Web unreachable',
    );
    assert.equal(
      describeAccount({ ...scanning, status: 'disconnected', wait: { ...wait, reconnecting: true } }, NOW),
      'reconnecting, attempt 3 of 13, next in 8 s: WhatsApp Web unreachable',
    );
  });

  it('a start in progress, a wait for a seat, a QR, a pairing code, the statuses', () => {
    const starting = { kind: 'engine_starting', attempt: 2, maxAttempts: 13, reconnecting: false, since: NOW } as const;
    assert.equal(
      describeAccount({ ...scanning, wait: { ...starting, lastFailure: 'transient:browser_closed' } }, NOW),
      'starting WhatsApp Web, attempt 2 of 13; the last one failed: the connection dropped: the browser closed',
    );
    assert.equal(
      describeAccount({ ...scanning, wait: { kind: 'host', since: NOW - 12_000 } }, NOW),
      'waiting for a host with a free seat (every host is full), for 12 s',
    );
    assert.equal(describeAccount(scanning, NOW), 'starting WhatsApp Web');
    assert.equal(describeAccount({ ...scanning, showsQr: true }, NOW), 'waiting for the QR code to be scanned');
    assert.equal(
      describeAccount({ ...scanning, showsPairingCode: true }, NOW),
      'waiting for the pairing code to be entered on the phone',
    );
    assert.equal(describeAccount({ ...scanning, status: 'connected' }, NOW), 'connected');
    assert.equal(
      describeAccount({ ...scanning, status: 'failed', failureReason: 'reconnect_failed:whatsapp_unreachable' }, NOW),
      'failed: the reconnect attempts ran out: WhatsApp Web unreachable',
    );
    assert.equal(describeAccount({ ...scanning, deleted: true }, NOW), 'deleted');
  });

  it('a wait recorded on a connected account is not shown: the status says more', () => {
    const wait = { kind: 'host', since: NOW } as const;
    assert.equal(describeAccount({ ...scanning, status: 'connected', wait }, NOW), 'connected');
  });

  it('a connected account nobody has seen alive for over 5 minutes says so; one seen lately is just connected', () => {
    const connected = { ...scanning, status: 'connected' } as const;
    assert.equal(describeAccount({ ...connected, lastSeenAt: NOW - 60_000 }, NOW), 'connected');
    assert.equal(
      describeAccount({ ...connected, lastSeenAt: NOW - 7 * 60_000 }, NOW),
      'connected, but not seen alive for 7 min: its host may be gone',
    );
  });

  it('a restart its host made on purpose says why, not that the connection dropped', () => {
    const disconnected = { ...scanning, status: 'disconnected' } as const;
    assert.equal(
      describeAccount({ ...disconnected, failureReason: 'transient:unresponsive' }, NOW),
      'disconnected: WhatsApp Web stopped answering its host',
    );
    assert.equal(
      describeAccount({ ...disconnected, failureReason: 'transient:memory_recycle' }, NOW),
      'disconnected: restarted to free the memory its browser had grown to',
    );
    assert.equal(
      describeAccount({ ...disconnected, failureReason: 'transient:connection_lost' }, NOW),
      'disconnected: the connection dropped: connection lost',
    );
  });

  it('reasons it does not know are shown as recorded, without underscores', () => {
    assert.equal(describeReason('start_failed:Protocol error'), 'start failed: Protocol error');
    assert.equal(describeReason('conflict'), 'WhatsApp Web was opened elsewhere');
  });

  it('events are worded as of when they happened; events that change nothing waited on have none', () => {
    const wait = { kind: 'host', since: NOW - 5_000 };
    assert.equal(
      describeEvent({ type: 'waiting_for_host', status: null, data: { wait } }, NOW),
      'waiting for a host with a free seat (every host is full), for 5 s',
    );
    assert.equal(describeEvent({ type: 'qr', status: null, data: {} }, NOW), 'waiting for the QR code to be scanned');
    assert.equal(describeEvent({ type: 'session_ready', status: 'connected', data: {} }, NOW), 'connected');
    assert.equal(describeEvent({ type: 'webhook_note', status: null, data: {} }, NOW), null);
  });
});

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ReplayGuard, signedHeaders, verifyWebhook } from '../../webhooks/signing.js';

const secret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
const body = JSON.stringify({
  event: 'session_ready',
  eventId: 42,
  sessionId: 'sess_1',
  data: { phoneNumber: '62811801641' },
});
const now = Math.floor(Date.now() / 1000);

describe('webhook signatures', () => {
  it("X-HMAC-Signature is exactly what the earlier Node service's signing snippet computes", () => {
    // The troubleshooting guide's snippet, as it is: createHmac('sha256', secret).update(timestamp + payload).digest('hex')
    const timestamp = Math.floor(Date.now() / 1000);
    const payload = body;
    const legacySignature = crypto
      .createHmac('sha256', secret)
      .update(timestamp + payload)
      .digest('hex');
    const headers = signedHeaders(secret, 'evt_42', timestamp, body);
    assert.equal(headers['x-hmac-signature'], legacySignature);
    assert.equal(headers['x-timestamp'], String(timestamp));
  });

  it('the Standard Webhooks headers verify with the reference library', () => {
    const headers = signedHeaders(secret, 'evt_42', now, body);
    const verified = new Webhook(secret).verify(body, {
      'webhook-id': headers['webhook-id']!,
      'webhook-timestamp': headers['webhook-timestamp']!,
      'webhook-signature': headers['webhook-signature']!,
    });
    assert.deepEqual(verified, JSON.parse(body));
  });

  it('the verifier accepts a fresh delivery under either scheme', () => {
    const headers = signedHeaders(secret, 'evt_42', now, body);
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret, nowSeconds: now }), {
      ok: true,
      scheme: 'legacy',
    });
    const standardOnly = {
      'Webhook-Id': headers['webhook-id'],
      'Webhook-Timestamp': headers['webhook-timestamp'],
      'Webhook-Signature': headers['webhook-signature'],
    };
    assert.deepEqual(verifyWebhook({ headers: standardOnly, rawBody: body, secret, nowSeconds: now }), {
      ok: true,
      scheme: 'standard',
    });
  });

  it('the verifier refuses expired and replayed deliveries, tampered bodies, other secrets, missing headers', () => {
    const old = now - 301;
    const replayed = signedHeaders(secret, 'evt_42', old, body);
    assert.deepEqual(verifyWebhook({ headers: replayed, rawBody: body, secret, nowSeconds: now }), {
      ok: false,
      reason: 'expired',
    });
    const future = signedHeaders(secret, 'evt_42', now + 400, body);
    assert.deepEqual(verifyWebhook({ headers: future, rawBody: body, secret, nowSeconds: now }), {
      ok: false,
      reason: 'expired',
    });
    const headers = signedHeaders(secret, 'evt_42', now, body);
    assert.deepEqual(
      verifyWebhook({ headers, rawBody: body.replace('62811801641', '62811801642'), secret, nowSeconds: now }),
      { ok: false, reason: 'bad_signature' },
    );
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret: 'whsec_other', nowSeconds: now }), {
      ok: false,
      reason: 'bad_signature',
    });
    assert.deepEqual(
      verifyWebhook({
        headers: { 'x-timestamp': 'yesterday', 'x-hmac-signature': 'ab' },
        rawBody: body,
        secret,
        nowSeconds: now,
      }),
      { ok: false, reason: 'bad_timestamp' },
    );
    assert.deepEqual(verifyWebhook({ headers: {}, rawBody: body, secret, nowSeconds: now }), {
      ok: false,
      reason: 'missing_headers',
    });
  });

  it('with a replay guard, a delivery sent again inside the window is refused; a new one and a forged one are not remembered', () => {
    const guard = new ReplayGuard(300);
    const headers = signedHeaders(secret, 'evt_42', now, body);
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret, nowSeconds: now, replayGuard: guard }), {
      ok: true,
      scheme: 'legacy',
    });
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret, nowSeconds: now + 10, replayGuard: guard }), {
      ok: false,
      reason: 'replayed',
    });
    const standardOnly = {
      'webhook-id': headers['webhook-id'],
      'webhook-timestamp': headers['webhook-timestamp'],
      'webhook-signature': headers['webhook-signature'],
    };
    assert.deepEqual(
      verifyWebhook({ headers: standardOnly, rawBody: body, secret, nowSeconds: now, replayGuard: guard }),
      { ok: true, scheme: 'standard' },
    );
    assert.deepEqual(
      verifyWebhook({ headers: standardOnly, rawBody: body, secret, nowSeconds: now, replayGuard: guard }),
      { ok: false, reason: 'replayed' },
    );
    const forged = { ...headers, 'x-hmac-signature': '00'.repeat(32), 'webhook-signature': `v1,${'A'.repeat(43)}=` };
    assert.deepEqual(verifyWebhook({ headers: forged, rawBody: body, secret, nowSeconds: now, replayGuard: guard }), {
      ok: false,
      reason: 'bad_signature',
    });
    const next = signedHeaders(secret, 'evt_43', now + 1, body);
    assert.deepEqual(verifyWebhook({ headers: next, rawBody: body, secret, nowSeconds: now + 1, replayGuard: guard }), {
      ok: true,
      scheme: 'legacy',
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import healthPlugin from '../../api/plugins/health.js';
import problemDetailsPlugin from '../../api/plugins/problem-details.js';
import { listEventsAfter } from '../../db/account-events.js';
import { recordLoginCode } from '../../db/accounts.js';
import { addressRefusal, STRICT_POLICY, urlRefusal } from '../../webhooks/network-policy.js';
import { useTestApi } from '../helpers/api.js';
import { openPool, uniqueId } from '../helpers/context.js';
import { sessionKey } from '../../domain/session-key.js';

describe('the public /ready names what is down, never where it is', () => {
  it('a driver error with an internal address answers 503 naming the part only', async () => {
    const app = Fastify({ logger: false });
    await app.register(problemDetailsPlugin);
    await app.register(healthPlugin, {
      checks: {
        postgres: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432')),
        temporal: () => Promise.reject(new Error('14 UNAVAILABLE: No connection established to [fd00::7]:7233')),
      },
    });
    try {
      const ready = await app.inject({ url: '/ready' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().code, 'not_ready');
      for (const leak of ['10.0.0.5', '5432', 'ECONNREFUSED', 'fd00::7', '7233', 'UNAVAILABLE']) {
        assert.ok(!ready.body.includes(leak), `the answer holds ${leak}: ${ready.body}`);
      }
      assert.match(ready.json().detail, /postgres/);
      assert.match(ready.json().detail, /temporal/);
      assert.equal(ready.json().checks.postgres.ok, false);
    } finally {
      await app.close();
    }
  });
});

describe('the webhook network policy refuses site-local and IPv4-compatible IPv6 (pure functions, no traffic)', () => {
  it('fec0::/10 and ::/96 are refused; public addresses still pass', () => {
    for (const address of [
      'fec0::1',
      'fec0:0:0:ffff::1',
      'feff::1',
      '::7f00:1',
      '::a9fe:a9fe',
      '::10.0.0.5',
      '::8.8.8.8',
    ]) {
      assert.notEqual(addressRefusal(address), null, address);
    }
    assert.notEqual(urlRefusal('https://[fec0::1]/hook', STRICT_POLICY), null);
    assert.notEqual(urlRefusal('https://[::a9fe:a9fe]/hook', STRICT_POLICY), null);
    for (const address of ['8.8.8.8', '93.184.216.34', '::ffff:8.8.8.8', '2606:4700::1111', 'fe00::1']) {
      assert.equal(addressRefusal(address), null, address);
    }
  });
});

describe('an account switched from QR to a pairing code stops offering its QR', () => {
  const api = useTestApi();

  it('GET of the account and the event stream no longer carry the QR once a pairing code was recorded', async () => {
    const pool = await openPool();
    try {
      const workspaceId = uniqueId('ws-switch');
      const sessionId = `${workspaceId}-a`;
      const key = await api.keyFor(workspaceId);
      const created = await api.as(key, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { sessionId },
      });
      assert.equal(created.statusCode, 201, created.body);
      const account = () => api.as(key, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
      const streamed = async () =>
        (await listEventsAfter(pool, { workspaceId, sessionId, afterId: 0, limit: 100 })).map((event) => event.data);
      const shownAt = Date.now();
      await recordLoginCode(pool, {
        sessionId: sessionKey(workspaceId, sessionId),
        kind: 'qr',
        value: 'QR-ONE',
        dedupeKey: uniqueId('qr'),
        timings: { emittedAt: shownAt },
      });
      assert.equal((await account()).json().qr.value, 'QR-ONE');

      await recordLoginCode(pool, {
        sessionId: sessionKey(workspaceId, sessionId),
        kind: 'pairing_code',
        value: 'ABCD-EFGH',
        dedupeKey: uniqueId('pc'),
      });
      // A QR the page showed before the switch, delivered after it.
      await recordLoginCode(pool, {
        sessionId: sessionKey(workspaceId, sessionId),
        kind: 'qr',
        value: 'QR-TWO',
        dedupeKey: uniqueId('qr'),
        timings: { emittedAt: shownAt + 1 },
      });
      const view = (await account()).json();
      assert.equal(view.qr, null, 'the account still offers its QR');
      assert.equal(view.pairingCode.value, 'ABCD-EFGH');
      const qrEndpoint = await api.as(key, {
        method: 'GET',
        url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/qr`,
      });
      assert.equal(qrEndpoint.statusCode, 404);
      const replay = JSON.stringify(await streamed());
      assert.ok(!replay.includes('QR-ONE') && !replay.includes('QR-TWO'), `the stream replays a QR: ${replay}`);
      assert.ok(replay.includes('ABCD-EFGH'));
    } finally {
      await pool.end();
    }
  });
});

describe('the OpenAPI document lists every public route', () => {
  const api = useTestApi();

  it('/v1/stream and /metrics are in it', async () => {
    const document = (await api.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    assert.ok(document.paths['/v1/stream'], 'no /v1/stream');
    assert.ok(document.paths['/metrics'], 'no /metrics');
  });

  it('a stream request without its workspace, as a client generated from the document may send, is a 400', async () => {
    for (const url of ['/v1/stream?sessionId=desk', '/v1/stream?workspaceId=bad%20id&sessionId=desk']) {
      const answer = await api.as(api.adminKey, { url });
      assert.equal(answer.statusCode, 400, `${url}: ${answer.body}`);
      assert.equal(answer.json<{ code: string }>().code, 'validation_failed');
    }
  });
});

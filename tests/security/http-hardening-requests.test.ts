import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import healthPlugin from '../../api/plugins/health.js';
import problemDetailsPlugin from '../../api/plugins/problem-details.js';
import { addressRefusal, STRICT_POLICY, urlRefusal } from '../../webhooks/network-policy.js';

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

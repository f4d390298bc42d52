import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import healthPlugin from '../../api/plugins/health.js';
import problemDetailsPlugin from '../../api/plugins/problem-details.js';

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

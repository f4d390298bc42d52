import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedKeylessAccessFromEnv } from '../../api/seed-access.js';
import { useTestApi } from '../helpers/api.js';

const METRICS_TOKEN = 'metrics-token-for-the-hardening-tests';
const SEED_WORKSPACE = 'ws-seed-hardening';

describe('HTTP hardening', () => {
  const api = useTestApi({
    failedAuthenticationsPerMinute: 5,
    rateLimitPerMinute: 5,
    accountCreationsPerMinute: 1,
    metricsToken: METRICS_TOKEN,
    seedKeyless: seedKeylessAccessFromEnv(true, SEED_WORKSPACE),
    // Never reached: a browser without a session is sent to the login page first.
    temporalUiUrl: 'http://127.0.0.1:9',
  });

  it('an anonymous body to the codec endpoint is refused before it is parsed, and anonymous requests are counted', async () => {
    const codec = (payload: string, remoteAddress: string) =>
      api.app.inject({
        method: 'POST',
        url: '/v1/admin/temporal-codec/decode',
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload,
      });
    const startedAt = Date.now();
    const large = await codec(`{"payloads":[${'{"data":"AAAA"},'.repeat(520_000)}{}]}`, '127.0.0.21');
    assert.equal(large.statusCode, 401, large.body.slice(0, 200));
    assert.ok(Date.now() - startedAt < 2_000, `8 MiB refused in ${Date.now() - startedAt} ms`);
    const malformed = await codec('{"payloads": [not json', '127.0.0.21');
    assert.equal(malformed.statusCode, 401, 'invalid JSON is never read: 401, not 400');
    assert.equal(malformed.json().code, 'unauthenticated');

    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) statuses.push((await codec('{}', '127.0.0.22')).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const refused = await codec('{}', '127.0.0.22');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const admin = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/temporal-codec/decode',
      remoteAddress: '127.0.0.22',
      payload: { payloads: [] },
    });
    assert.equal(admin.statusCode, 200, 'an admin key from that address still decodes');
    const browser = await api.app.inject({
      url: '/temporal/',
      remoteAddress: '127.0.0.23',
      headers: { accept: 'text/html' },
    });
    assert.equal(browser.statusCode, 303, 'a browser without a session is still sent to the login page');
  });
});

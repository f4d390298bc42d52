import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedAuthentications } from '../../api/failed-authentications.js';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

describe('failed authentications per address', () => {
  const api = useTestApi({ failedAuthenticationsPerMinute: 3 });
  const listAccounts = (key: string, remoteAddress: string) =>
    api.app.inject({
      method: 'GET',
      url: '/v1/workspaces/ws-guess/accounts',
      remoteAddress,
      headers: { authorization: `Bearer ${key}` },
    });

  it('after 3 invalid keys an address gets 429 with Retry-After for the next, yet its valid key passes', async () => {
    const guesser = '127.0.0.7';
    for (const guess of ['wak_guess1', 'wak_guess2', 'wak_guess3']) {
      assert.equal((await listAccounts(guess, guesser)).statusCode, 401);
    }
    assert.equal((await listAccounts(api.adminKey, guesser)).statusCode, 200);
    const refused = await listAccounts('wak_guess4', guesser);
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.json().code, 'too_many_failed_authentications');
    assert.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60);
    assert.equal((await listAccounts(api.adminKey, '127.0.0.8')).statusCode, 200);
  });

  it('the window ends after a minute', () => {
    let now = 1_000_000;
    const failures = new FailedAuthentications(2, () => now);
    failures.recordFailure('192.0.2.1');
    failures.recordFailure('192.0.2.1');
    assert.equal(failures.retryAfterMs('192.0.2.1'), 60_000);
    now += 59_000;
    assert.equal(failures.retryAfterMs('192.0.2.1'), 1_000);
    now += 1_000;
    assert.equal(failures.retryAfterMs('192.0.2.1'), 0);
  });
});

describe('account creation has a rate of its own', () => {
  const api = useTestApi({ accountCreationsPerMinute: 2 });

  it('the third create in a minute gets 429 account_creation_rate_limited, while other requests still answer', async () => {
    const workspaceId = uniqueId('ws-rate');
    const create = (session: string) =>
      api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload: { sessionId: `${workspaceId}-${session}` },
      });
    assert.equal((await create('a')).statusCode, 201);
    assert.equal((await create('b')).statusCode, 201);
    const third = await create('c');
    assert.equal(third.statusCode, 429, third.body);
    assert.equal(third.json().code, 'account_creation_rate_limited');
    assert.match(String(third.headers['content-type']), /^application\/problem\+json/);
    const legacyCreate = await api.as(api.adminKey, {
      method: 'POST',
      url: '/api/session/init',
      payload: { sessionId: `${workspaceId}-d`, workspaceId },
    });
    assert.equal(legacyCreate.statusCode, 429, 'the legacy route shares the budget');
    const list = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts` });
    assert.equal(list.statusCode, 200);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LEGACY_KEYLESS_OFF,
  legacyKeylessAccessFromEnv,
  legacyKeylessRefusal,
} from '../../api/legacy-keyless-access.js';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

describe("the legacy session API's key-less access (a pure decision)", () => {
  const loopback = { ip: '127.0.0.1', headers: {} };
  const open = legacyKeylessAccessFromEnv(true, '1, 2');

  it('is off by default', () => {
    assert.match(legacyKeylessRefusal(LEGACY_KEYLESS_OFF, loopback) ?? '', /off/);
  });

  it('when turned on: loopback only, never through a proxy, never with no workspace named', () => {
    assert.equal(legacyKeylessRefusal(open, loopback), null);
    assert.equal(legacyKeylessRefusal(open, { ip: '::1', headers: {} }), null);
    assert.match(legacyKeylessRefusal(open, { ip: '203.0.113.7', headers: {} }) ?? '', /loopback only/);
    for (const header of ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via', 'x-forwarded-host']) {
      assert.match(legacyKeylessRefusal(open, { ip: '127.0.0.1', headers: { [header]: 'x' } }) ?? '', /proxy/, header);
    }
    assert.match(legacyKeylessRefusal(legacyKeylessAccessFromEnv(true, ''), loopback) ?? '', /no workspace/);
    assert.deepEqual([...open.workspaces], ['1', '2']);
  });
});

describe('where an API key may travel', () => {
  const api = useTestApi();

  it('a key in the query string opens nothing but the WebSocket: a URL ends up in proxy logs', async () => {
    const workspaceId = uniqueId('ws');
    const inQuery = await api.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/accounts?access_token=${api.adminKey}`,
    });
    assert.equal(inQuery.statusCode, 401, inQuery.body);
    const inHeader = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts` });
    assert.equal(inHeader.statusCode, 200, inHeader.body);
  });

  it('without LEGACY_API_LOOPBACK_WITHOUT_KEY the legacy session API wants a key, even from loopback', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/api/session/anything/status' });
    assert.equal(response.statusCode, 401);
  });

  it('a request has 30 s to arrive whole, an idle keep-alive socket 10 s: slow clients cannot hold sockets', () => {
    assert.equal(api.app.server.requestTimeout, 30_000);
    assert.equal(api.app.server.keepAliveTimeout, 10_000);
  });
});

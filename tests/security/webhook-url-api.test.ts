import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STRICT_POLICY } from '../../webhooks/network-policy.js';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

/** The API refuses, when they are set, webhook URLs the network policy would never deliver to. */
describe('webhook URLs under the production network policy', () => {
  const api = useTestApi({ webhookPolicy: STRICT_POLICY });

  it('refuses internal, metadata and plain-http URLs with 422 webhook_url_refused on every route that takes one', async () => {
    const workspaceId = uniqueId('ws');
    const attempts = [
      { method: 'PUT', url: `/v1/workspaces/${workspaceId}/webhook`, body: { webhookUrl: 'https://169.254.169.254/' } },
      { method: 'PUT', url: `/v1/workspaces/${workspaceId}/webhook`, body: { webhookUrl: 'http://backend.example/x' } },
      { method: 'POST', url: `/v1/workspaces/${workspaceId}/accounts`, body: { webhookUrl: 'https://2130706433/x' } },
      {
        method: 'POST',
        url: '/api/session/init',
        body: { sessionId: uniqueId('s'), workspaceId, webhookUrl: 'https://[::1]/' },
      },
    ] as const;
    for (const attempt of attempts) {
      const response = await api.as(api.adminKey, { method: attempt.method, url: attempt.url, payload: attempt.body });
      assert.equal(response.statusCode, 422, `${attempt.url}: ${response.body}`);
      assert.equal(response.json().code, 'webhook_url_refused');
      assert.equal(response.json().errors[0].field, '/webhookUrl');
    }
    const accounts = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts` });
    assert.deepEqual(accounts.json().items, [], 'a refused create stored nothing');
  });

  it('takes a public https URL', async () => {
    const workspaceId = uniqueId('ws');
    const response = await api.as(api.adminKey, {
      method: 'PUT',
      url: `/v1/workspaces/${workspaceId}/webhook`,
      payload: { webhookUrl: 'https://backend.example/hooks' },
    });
    assert.equal(response.statusCode, 200, response.body);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

describe('input types', () => {
  const api = useTestApi();

  it('a JSON body of the wrong type is refused, never coerced', async () => {
    const workspaceId = uniqueId('ws-types');
    for (const [payload, field] of [
      [{ sessionId: 12345 }, '/sessionId'],
      [{ mode: 'pairing_code', phoneNumber: 62811801641 }, '/phoneNumber'],
      [{ sessionId: 'ok-types', metadata: 'not an object' }, '/metadata'],
    ] as const) {
      const response = await api.as(api.adminKey, {
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/accounts`,
        payload,
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().code, 'validation_failed');
      assert.ok(JSON.stringify(response.json().errors).includes(field), response.body);
    }
    const listed = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts` });
    assert.deepEqual(listed.json().items, [], 'nothing was created');
  });

  it('a query string, text by nature, is still read as the numbers and booleans its schema declares', async () => {
    const workspaceId = uniqueId('ws-types');
    const response = await api.as(api.adminKey, {
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/accounts?limit=5&includeDeleted=true`,
    });
    assert.equal(response.statusCode, 200, response.body);
  });
});

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
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

  it('an over-long URL gets problem details, from the router (414) and from the HTTP parser (431)', async () => {
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    const headers = { authorization: `Bearer ${api.adminKey}` };
    const longSegment = await fetch(`${base}/v1/workspaces/${'w'.repeat(5_000)}/accounts`, { headers });
    assert.equal(longSegment.status, 414);
    assert.match(String(longSegment.headers.get('content-type')), /^application\/problem\+json/);
    const segmentProblem = (await longSegment.json()) as { code: string; detail: string };
    assert.equal(segmentProblem.code, 'uri_too_long');
    assert.ok(!segmentProblem.detail.includes('wwwww'), 'the URL is not echoed back');

    const overflow = await fetch(`${base}/v1/workspaces/ws/accounts?pad=${'p'.repeat(40_000)}`, { headers });
    assert.equal(overflow.status, 431);
    assert.match(String(overflow.headers.get('content-type')), /^application\/problem\+json/);
    assert.equal(((await overflow.json()) as { code: string }).code, 'request_too_large');
  });

  it('a 404 names the path, cut short', async () => {
    const response = await api.as(api.adminKey, { method: 'GET', url: `/nowhere/${'x'.repeat(2_000)}` });
    assert.equal(response.statusCode, 404);
    assert.ok(response.json().detail.length < 300, response.json().detail);
  });
});

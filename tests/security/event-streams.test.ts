import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CLOSE_KEY_REVOKED, DEFAULT_STREAM_LIMITS } from '../../api/stream-guard.js';
import { revokeApiKey } from '../../db/workspaces.js';
import { useTestApi } from '../helpers/api.js';
import { openPool, uniqueId } from '../helpers/context.js';

/** WebSocket event streams: bounded per key, closed when their key is revoked. Loopback only. */
describe('event streams', () => {
  const api = useTestApi({ streamLimits: { ...DEFAULT_STREAM_LIMITS, perKey: 2, revocationCheckMs: 300 } });
  let baseUrl: string;

  before(async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `ws://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  });

  const open = (workspaceId: string, key: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl}/v1/stream?workspaceId=${workspaceId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      socket.once('message', () => resolve(socket));
      socket.once('error', reject);
    });

  it('a key holds at most its number of streams; its next one is refused with 429 before it opens', async () => {
    const workspaceId = uniqueId('ws-streams');
    const key = await api.keyFor(workspaceId);
    const sockets = [await open(workspaceId, key), await open(workspaceId, key)];
    await assert.rejects(open(workspaceId, key), /429/);
    for (const socket of sockets) socket.close();
  });

  it("a revoked key's streams close with 4003", async () => {
    const workspaceId = uniqueId('ws-revoked');
    const key = await api.keyFor(workspaceId);
    const socket = await open(workspaceId, key);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const pool = await openPool();
    try {
      assert.ok(await revokeApiKey(pool, key.slice(0, 16)));
    } finally {
      await pool.end();
    }
    assert.equal(await closed, CLOSE_KEY_REVOKED);
  });
});

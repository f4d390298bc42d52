import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { useTestApi } from '../helpers/api.js';
import { uniqueId } from '../helpers/context.js';

const DEADLINE_MS = 2_000;
/** Well under Node's default 30 s between connection checks, which is what let slow requests outlive the deadline. */
const BOUND_MS = 3 * DEADLINE_MS;

/**
 * Opens a raw loopback socket, sends the parts (numbers are pauses in ms), and resolves when the server closes it
 * (or after `waitMs`, then with `closed: false`), with what the server answered and when.
 */
function exchange(
  port: number,
  parts: (string | number)[],
  waitMs: number,
): Promise<{ closed: boolean; elapsedMs: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, elapsedMs: performance.now() - startedAt, answer });
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ closed: true, elapsedMs: performance.now() - startedAt, answer });
    });
    socket.once('connect', () => {
      void (async () => {
        for (const part of parts) {
          if (typeof part === 'number') await sleep(part);
          else if (!socket.destroyed) socket.write(part);
        }
      })().catch(reject);
    });
  });
}

describe('a request has its deadline to arrive whole, held on a real socket', () => {
  const api = useTestApi({ requestTimeoutMs: DEADLINE_MS });
  let port = 0;
  let key = '';
  const workspaceId = uniqueId('ws-deadline');

  before(async () => {
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    port = (api.app.server.address() as AddressInfo).port;
    key = await api.keyFor(workspaceId);
  });

  it('headers that never complete are answered 408 and closed within the bound', async () => {
    const result = await exchange(port, ['GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '], 4 * BOUND_MS);
    assert.ok(result.closed, 'the socket is still open');
    assert.ok(result.elapsedMs < BOUND_MS, `closed after ${Math.round(result.elapsedMs)} ms`);
    assert.match(result.answer, /^HTTP\/1\.1 408 /);
    assert.match(result.answer, /"code":"request_timeout"/);
  });

  it('a body that never comes, after complete headers with a valid key, is answered 408 and closed within the bound', async () => {
    const head =
      `POST /v1/workspaces/${workspaceId}/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 64\r\n\r\n{"sessionId":';
    const result = await exchange(port, [head], 4 * BOUND_MS);
    assert.ok(result.closed, 'the socket is still open');
    assert.ok(result.elapsedMs < BOUND_MS, `closed after ${Math.round(result.elapsedMs)} ms`);
    assert.match(result.answer, /^HTTP\/1\.1 408 /);
  });

  it('a slow request that arrives whole within the deadline is served', async () => {
    const body = JSON.stringify({ sessionId: `${workspaceId}-slow` });
    const result = await exchange(
      port,
      [
        `POST /v1/workspaces/${workspaceId}/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n`,
        DEADLINE_MS / 4,
        `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\nConnection: close\r\n`,
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
        DEADLINE_MS / 4,
        body,
      ],
      4 * BOUND_MS,
    );
    assert.match(result.answer, /^HTTP\/1\.1 201 /, result.answer);
  });
});

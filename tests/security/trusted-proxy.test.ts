import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { OPERATOR_SESSION_COOKIE } from '../../api/plugins/auth.js';
import { DEFAULT_STREAM_LIMITS } from '../../api/stream-guard.js';
import { ConfigError, readProcessEnv } from '../../config/env.js';
import { useTestApi } from '../helpers/api.js';
import { fixtureKeys, uniqueId } from '../helpers/context.js';

/** Every real deployment terminates TLS in a proxy: here 127.0.0.1 stands in for it, with TRUST_PROXY=127.0.0.1. */
const PROXY = '127.0.0.1';

/** A well-formed key that opens nothing (with a given prefix: a guess at the secret of a known key). */
function wrongKey(prefix = `wak_${randomBytes(6).toString('hex')}`): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** The session cookie a response set: its attributes, lower-cased. */
function cookieAttributes(setCookie: string | string[] | undefined): string[] {
  const line = [setCookie ?? []].flat().find((header) => header.startsWith(`${OPERATOR_SESSION_COOKIE}=`)) ?? '';
  return line
    .split(';')
    .slice(1)
    .map((part) => part.trim().toLowerCase());
}

describe('limits behind a trusted proxy: per client, never against a valid key', () => {
  const api = useTestApi({ trustProxy: [PROXY] });
  const listAccounts = (key: string, client: string, workspaceId: string) =>
    api.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      remoteAddress: PROXY,
      headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client },
    });

  it("client A's 31 invalid keys lock out A's guesses only: B's valid key and A's own valid key still get 200", async () => {
    const [clientA, clientB] = ['198.51.100.10', '198.51.100.20'];
    const [workspaceA, workspaceB] = [uniqueId('ws-proxy-a'), uniqueId('ws-proxy-b')];
    const [keyA, keyB] = [await api.keyFor(workspaceA), await api.keyFor(workspaceB)];
    const prefixA = keyA.split('_').slice(0, 2).join('_');
    const answers: number[] = [];
    for (let guess = 0; guess < 31; guess += 1) {
      // Some guesses aim at A's real key (its prefix), the others at keys that do not exist.
      answers.push((await listAccounts(wrongKey(guess % 2 ? prefixA : undefined), clientA, workspaceA)).statusCode);
    }
    assert.deepEqual(answers.slice(0, 30), Array<number>(30).fill(401));
    assert.equal(answers[30], 429, 'the 31st invalid key within the minute is refused');

    const b = await listAccounts(keyB, clientB, workspaceB);
    assert.equal(b.statusCode, 200, `B behind the same proxy is not A: ${b.body}`);
    const a = await listAccounts(keyA, clientA, workspaceA);
    assert.equal(a.statusCode, 200, `a valid key always passes, even from a locked-out address: ${a.body}`);
    assert.equal((await listAccounts(api.adminKey, clientA, workspaceA)).statusCode, 200, 'an admin key never seen');

    for (const guess of [wrongKey(), wrongKey(prefixA)]) {
      const refused = await listAccounts(guess, clientA, workspaceA);
      assert.equal(refused.statusCode, 429, refused.body);
      assert.equal(refused.json().code, 'too_many_failed_authentications');
      assert.equal(refused.json().title, 'Too Many Requests');
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After: ${String(refused.headers['retry-after'])}`);
    }
  });

  it('an address the proxy did not name is no one else: X-Forwarded-For from an untrusted peer is ignored', async () => {
    const workspace = uniqueId('ws-proxy-c');
    const direct = '127.0.0.9';
    for (let guess = 0; guess < 31; guess += 1) {
      await api.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${workspace}/accounts`,
        remoteAddress: direct,
        // A client talking to the API directly cannot pose as many clients to spread its guesses.
        headers: { authorization: `Bearer ${wrongKey()}`, 'x-forwarded-for': `203.0.113.${guess}` },
      });
    }
    const refused = await api.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspace}/accounts`,
      remoteAddress: direct,
      headers: { authorization: `Bearer ${wrongKey()}`, 'x-forwarded-for': '203.0.113.200' },
    });
    assert.equal(refused.statusCode, 429);
  });
});

describe('the operator cookie behind a TLS-terminating proxy', () => {
  const api = useTestApi({ trustProxy: [PROXY] });

  it("the operator's session cookie is Secure when the proxy says the client came over https", async () => {
    const login = (forwarded: Record<string, string>, remoteAddress = PROXY) =>
      api.as(api.adminKey, { method: 'POST', url: '/v1/admin/operator-sessions', remoteAddress, headers: forwarded });
    const overTls = await login({ 'x-forwarded-for': '198.51.100.30', 'x-forwarded-proto': 'https' });
    assert.equal(overTls.statusCode, 201, overTls.body);
    assert.ok(cookieAttributes(overTls.headers['set-cookie']).includes('secure'), 'Secure behind TLS');
    const plain = await login({ 'x-forwarded-for': '198.51.100.30', 'x-forwarded-proto': 'http' });
    assert.ok(!cookieAttributes(plain.headers['set-cookie']).includes('secure'), 'plain http stays usable');
    const untrusted = await login({ 'x-forwarded-proto': 'https' }, '127.0.0.10');
    assert.ok(
      !cookieAttributes(untrusted.headers['set-cookie']).includes('secure'),
      'only a trusted proxy says what the protocol was',
    );
  });
});

describe('event streams per client behind the proxy', () => {
  const api = useTestApi({ trustProxy: [PROXY], streamLimits: { ...DEFAULT_STREAM_LIMITS, perAddress: 1 } });
  let baseUrl: string;

  before(async () => {
    await api.app.listen({ port: 0, host: PROXY });
    baseUrl = `ws://${PROXY}:${(api.app.server.address() as AddressInfo).port}`;
  });

  /** Opens a stream as the proxy would for `client`: the socket or the refusal's status and Retry-After. */
  const open = (workspaceId: string, key: string, client: string) =>
    new Promise<WebSocket | { status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl}/v1/stream?workspaceId=${workspaceId}`, {
        headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client },
      });
      socket.once('message', () => resolve(socket));
      socket.once('unexpected-response', (_request, response) => {
        resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
        response.resume();
      });
      socket.once('error', reject);
    });

  it('the streams-per-address cap counts each client the proxy names, not the proxy', async () => {
    const workspaceId = uniqueId('ws-proxy-streams');
    const key = await api.keyFor(workspaceId);
    const first = await open(workspaceId, key, '198.51.100.41');
    assert.ok(first instanceof WebSocket, JSON.stringify(first));
    const other = await open(workspaceId, key, '198.51.100.42');
    assert.ok(other instanceof WebSocket, `another client behind the same proxy: ${JSON.stringify(other)}`);
    const again = await open(workspaceId, key, '198.51.100.41');
    assert.ok(!(again instanceof WebSocket));
    assert.equal(again.status, 429);
    assert.ok(Number(again.retryAfter) > 0, 'Retry-After on the refused stream');
    for (const socket of [first, other]) socket.close();
  });
});

describe('TRUST_PROXY', () => {
  it('takes addresses and CIDRs, trusts none by default, and stops the start on anything else', async () => {
    const base = {
      DATABASE_URL: 'postgres://wa@127.0.0.1:5432/wa',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      ENCRYPTION_KEYS: await fixtureKeys(),
    };
    assert.deepEqual(readProcessEnv(base).TRUST_PROXY, []);
    assert.deepEqual(readProcessEnv({ ...base, TRUST_PROXY: ' 127.0.0.1, 10.0.0.0/8,fd00::/8 , ::1' }).TRUST_PROXY, [
      '127.0.0.1',
      '10.0.0.0/8',
      'fd00::/8',
      '::1',
    ]);
    for (const wrong of ['proxy.internal', '10.0.0.0/33', '::1/129', '127.0.0.1/8/8', 'true']) {
      assert.throws(() => readProcessEnv({ ...base, TRUST_PROXY: wrong }), ConfigError, wrong);
    }
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { engineEventSignal, requestPairingCodeUpdate } from '../../workflows/messages.js';
import { randomPhone } from '../helpers/accounts.js';
import { resolveTemporalCli } from '../../infra/temporal-cli.js';
import { useTestApi } from '../helpers/api.js';
import { eventually, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

/** What anyone who can read Temporal (its database, its UI, its API) sees of an account: ciphertext. */
describe('Temporal holds no secret in clear', { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack();
  const api = useTestApi();

  it("a connected account's history holds no phone number, push name, QR or pairing code, and every payload is encrypted", async () => {
    const { sessionId, handle } = await stack.accounts.create();
    const scanning = await stack.accounts.showingQr(sessionId);
    const qr = scanning.last_qr ?? '';
    const phone = randomPhone();
    const { code } = await handle.executeUpdate(requestPairingCodeUpdate, { args: [{ phoneNumber: phone }] });
    await stack.accounts.phone(sessionId, 'enter_code', { code, pushName: 'Toko Rahasia' });
    assert.equal((await stack.accounts.rowWithStatus(sessionId, 'connected')).phone_number, phone);

    const history = historyToJSON(await handle.fetchHistory());
    for (const [what, secret] of [
      ['the phone number', phone],
      ['the push name', 'Toko Rahasia'],
      ['the QR', qr.slice(0, 24)],
      ['the pairing code', code],
    ] as const) {
      assert.ok(secret.length > 0, what);
      assert.ok(!history.includes(secret), `${what} is not in the history in clear`);
      assert.ok(
        !history.includes(Buffer.from(secret).toString('base64').slice(0, 12)),
        `${what} is not there in base64`,
      );
    }
    const encodings = payloadEncodings(JSON.parse(history));
    assert.ok(encodings.length > 10, 'the history has payloads');
    assert.deepEqual([...new Set(encodings)], ['binary/encrypted'], 'every payload is encrypted');
  });

  it("an operator reads a history in clear with Temporal's CLI through the API's codec endpoint and an admin key; no other key may", async () => {
    const { sessionId, handle } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    const phone = randomPhone();
    await stack.accounts.phone(sessionId, 'scan', { phone, pushName: 'Toko Terang' });
    await stack.accounts.rowWithStatus(sessionId, 'connected');

    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const codecEndpoint = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/v1/admin/temporal-codec`;
    const cli = await resolveTemporalCli(testLog);
    const show = (...extra: string[]) =>
      promisify(execFile)(
        cli,
        ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', testStackEnv().temporalAddress, ...extra],
        { maxBuffer: 64 * 1024 * 1024 },
      );
    const plain = await show('--output', 'json');
    assert.ok(!plain.stdout.includes(phone), 'without the codec: ciphertext');
    const decoded = await show(
      '--output',
      'json',
      '--codec-endpoint',
      codecEndpoint,
      '--codec-auth',
      `Bearer ${api.adminKey}`,
    );
    const decodedText = payloadTexts(JSON.parse(decoded.stdout)).join('\n');
    assert.ok(decodedText.includes(phone), 'through the codec: the phone number');
    assert.ok(decodedText.includes('Toko Terang'), 'through the codec: the push name');
    assert.ok(!payloadTexts(JSON.parse(plain.stdout)).join('\n').includes(phone));

    const body = {
      payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted').toString('base64') }, data: '' }],
    };
    const workspaceKey = await api.keyFor(uniqueId('ws-codec'));
    const asWorkspace = await api.as(workspaceKey, {
      method: 'POST',
      url: '/v1/admin/temporal-codec/decode',
      payload: body,
    });
    assert.equal(asWorkspace.statusCode, 404, 'a workspace key does not even see the route');
    const anonymous = await api.app.inject({ method: 'POST', url: '/v1/admin/temporal-codec/decode', payload: body });
    assert.equal(anonymous.statusCode, 401);
  });

  it('a signal forged without the key never changes the account', async () => {
    const { sessionId, handle } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    const connection = await Connection.connect({ address: testStackEnv().temporalAddress });
    try {
      // Someone who reaches Temporal but holds no key: a `ready` claiming a phone number, as plain JSON.
      const forger = new Client({ connection });
      const state = { generation: 1, event: { type: 'ready' as const }, emittedAt: Date.now() };
      await forger.workflow.getHandle(handle.workflowId).signal(engineEventSignal, {
        ...state,
        ownPhone: { phoneNumber: randomPhone(), pushName: null, readInMs: 1 },
      });
      await eventually(
        async () =>
          (await handle.fetchHistory()).events?.some((e) => e.workflowTaskFailedEventAttributes) ? true : undefined,
        15_000,
        'the workflow refusing the payload it cannot read',
      );
      const row = await stack.accounts.row(sessionId);
      assert.equal(row?.status, 'qr_scanning', 'the forged ready connected nothing');
      assert.equal(row?.phone_number, null);
    } finally {
      await handle.terminate('a forged signal it cannot read is in its history').catch(() => undefined);
      await connection.close();
    }
  });
});

/** The data of every JSON payload in a history, as text (the CLI prints payload bytes in base64). */
function payloadTexts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(payloadTexts);
  if (!node || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const encoding = (record.metadata as Record<string, string> | undefined)?.encoding;
  const own =
    encoding && Buffer.from(encoding, 'base64').toString() === 'json/plain' && typeof record.data === 'string'
      ? [Buffer.from(record.data, 'base64').toString('utf8')]
      : [];
  return [...own, ...Object.values(record).flatMap(payloadTexts)];
}

/**
 * The encoding of every payload in a history, but two kinds the SDK and the server write for themselves: search
 * attributes (for the visibility store to index: only the account's status and workspace) and a local activity's
 * marker bookkeeping (its sequence number, type, attempt and times). The checks for secrets above cover both.
 */
function payloadEncodings(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(payloadEncodings);
  if (!node || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const metadata = record.metadata as Record<string, string> | undefined;
  const own = typeof metadata?.encoding === 'string' ? [Buffer.from(metadata.encoding, 'base64').toString()] : [];
  const isMarker = typeof record.markerName === 'string';
  // A marker's own bookkeeping is the SDK's (a local activity's call data, a patch's id), never account data.
  const nested = Object.entries(record)
    .filter(([key]) => key !== 'searchAttributes' && key !== 'metadata')
    .map(([key, value]) =>
      isMarker && key === 'details'
        ? [key, { ...(value as object), data: undefined, 'patch-data': undefined }]
        : ([key, value] as const),
    )
    .flatMap(([, value]) => payloadEncodings(value));
  return [...own, ...nested];
}

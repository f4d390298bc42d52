import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import {
  deleteAccountSignal,
  engineEventSignal,
  requestPairingCodeUpdate,
  signalAccount,
} from '../../workflows/messages.js';
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
    const { code } = await handle.executeUpdate(requestPairingCodeUpdate, {
      args: [{ workflowId: handle.workflowId, phoneNumber: phone }],
    });
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

    // The server's own bookkeeping, never encrypted, comes back as it came; a payload claiming to be encrypted that
    // the service cannot read comes back as the codec's marker, which says why.
    const bookkeeping = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"qr_scanning"').toString('base64'),
    };
    const asOperator = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/temporal-codec/decode',
      payload: { payloads: [bookkeeping, ...body.payloads] },
    });
    assert.equal(asOperator.statusCode, 200);
    const [asItCame, unreadable] = asOperator.json<{ payloads: Array<{ data: string }> }>().payloads;
    assert.deepEqual(asItCame, bookkeeping);
    assert.equal(Buffer.from(unreadable?.data ?? '', 'base64').toString(), '{"unreadablePayload":"unknown key"}');
  });

  it('a signal forged without the key, or copied from another account, changes nothing and never fails a workflow task', async () => {
    const { sessionId, handle } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    // Another account deleted by the service: its history holds a delete encrypted with the service's key.
    const other = await stack.accounts.create();
    await stack.accounts.showingQr(other.sessionId);
    await signalAccount(other.handle, deleteAccountSignal);
    await other.handle.result();
    const copiedDelete = (await other.handle.fetchHistory()).events?.find(
      (event) => event.workflowExecutionSignaledEventAttributes?.signalName === deleteAccountSignal.name,
    )?.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    assert.ok(copiedDelete, "the other account's history holds its delete");

    const connection = await Connection.connect({ address: testStackEnv().temporalAddress });
    try {
      // Someone who reaches Temporal but holds no key.
      const forger = new Client({ connection });
      const target = forger.workflow.getHandle(handle.workflowId);
      const forgedPhone = randomPhone();
      const forgeries: Array<[what: string, send: () => Promise<unknown>]> = [
        [
          'a ready claiming a phone number, as plain JSON',
          () =>
            target.signal(engineEventSignal, {
              workflowId: handle.workflowId,
              generation: 1,
              event: { type: 'ready' },
              emittedAt: Date.now(),
              ownPhone: { phoneNumber: forgedPhone, pushName: null, lid: null, platform: null, readInMs: 1 },
            }),
        ],
        ['a delete with no payload', () => target.signal(deleteAccountSignal.name)],
        [
          "the other account's delete, copied byte for byte",
          () =>
            connection.workflowService.signalWorkflowExecution({
              namespace: 'default',
              workflowExecution: { workflowId: handle.workflowId },
              signalName: deleteAccountSignal.name,
              input: { payloads: [copiedDelete] },
              identity: 'forger',
              requestId: randomUUID(),
            }),
        ],
      ];
      for (const [what, send] of forgeries) {
        await send();
        const events = await everySignalTaken(handle);
        assert.equal(
          events.filter((event) => event.workflowTaskFailedEventAttributes).length,
          0,
          `${what}: no task failed`,
        );
        const row = await stack.accounts.row(sessionId);
        assert.equal(row?.status, 'qr_scanning', `${what}: the account is unchanged`);
        assert.equal(row?.phone_number, null, what);
        assert.equal(row?.deleted_at, null, what);
      }
      const workerLog = await eventually(
        async () => {
          const text = await readFile(stack.workerLogFile, 'utf8');
          return text.includes('names another workflow') ? text : undefined;
        },
        10_000,
        'the refusals in the worker log',
      );
      for (const refusal of [
        'refused the signal engineEvent: its payload is unreadable (not encrypted)',
        'refused the signal deleteAccount: it names no workflow',
        'refused the signal deleteAccount: it names another workflow',
      ]) {
        assert.ok(workerLog.includes(refusal), `logged: ${refusal}`);
      }
      assert.ok(!workerLog.includes(forgedPhone), 'the log holds nothing of what a forgery carried');
    } finally {
      await connection.close();
    }

    // The account goes on as if nothing had come: the phone scans and it connects; the service's delete deletes it.
    const phone = randomPhone();
    await stack.accounts.phone(sessionId, 'scan', { phone, pushName: 'Toko Asli' });
    assert.equal((await stack.accounts.rowWithStatus(sessionId, 'connected')).phone_number, phone);
    await signalAccount(handle, deleteAccountSignal);
    assert.equal((await handle.result()).failureReason, 'deleted');
    assert.notEqual((await stack.accounts.row(sessionId))?.deleted_at, null);
    const history = await handle.fetchHistory();
    assert.equal(history.events?.filter((event) => event.workflowTaskFailedEventAttributes).length, 0);
  });

  it('an account workflow started without the key ends at once, failed, and writes nothing', async () => {
    const sessionId = uniqueId('sess-forged');
    const workspaceId = uniqueId('ws-forged');
    const connection = await Connection.connect({ address: testStackEnv().temporalAddress });
    try {
      const forger = new Client({ connection });
      await forger.workflow.start('accountConnection', {
        taskQueue: stack.accounts.taskQueue,
        workflowId: accountWorkflowId(workspaceId, sessionId),
        args: [{ sessionId, workspaceId }],
      });
    } finally {
      await connection.close();
    }
    const handle = stack.client.workflow.getHandle(accountWorkflowId(workspaceId, sessionId));
    await assert.rejects(
      handle.result(),
      (error: unknown) =>
        error instanceof WorkflowFailedError &&
        error.cause instanceof ApplicationFailure &&
        error.cause.type === 'BadInput' &&
        /input is unreadable \(not encrypted\)/.test(error.cause.message),
    );
    const history = await handle.fetchHistory();
    assert.equal(history.events?.filter((event) => event.workflowTaskFailedEventAttributes).length, 0);
    assert.equal(await stack.accounts.row(sessionId), null, 'no row');
  });
  it("an activity a stranger's workflow schedules on the service's queue never runs", async () => {
    const { sessionId } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    const connection = await NativeConnection.connect({ address: testStackEnv().temporalAddress });
    const strangerQueue = uniqueId('tq-stranger');
    // The stranger's own worker, with no key: what its workflow schedules goes out as plain JSON.
    const stranger = await Worker.create({
      connection,
      taskQueue: strangerQueue,
      workflowsPath: fileURLToPath(new URL('../helpers/keyless-workflow.ts', import.meta.url)),
    });
    const workflowId = uniqueId('stranger');
    try {
      await stranger.runUntil(async () => {
        await new Client({ connection }).workflow.start('keylessRowWrite', {
          taskQueue: strangerQueue,
          workflowId,
          args: [stack.accounts.taskQueue, sessionId],
        });
        const refusal = await eventually(
          async () =>
            (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events?.find(
              (event) => event.activityTaskFailedEventAttributes,
            )?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type ?? undefined,
          20_000,
          "the service's worker refusing the activity",
        );
        assert.equal(refusal, 'UnreadablePayload');
      });
    } finally {
      await stack.client.workflow
        .getHandle(workflowId)
        .terminate('a test')
        .catch(() => undefined);
      await connection.close();
    }
    assert.ok(!(await stack.accounts.eventTypes(sessionId)).includes('forged_by_a_stranger'), 'nothing was written');
  });
});

/**
 * The workflow's history once it has taken every signal sent so far: a workflow task ended (completed or failed)
 * after the last of them.
 */
async function everySignalTaken(handle: WorkflowHandle) {
  return eventually(
    async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const lastSignal = events
        .map((event) => Boolean(event.workflowExecutionSignaledEventAttributes))
        .lastIndexOf(true);
      const taskEnded = events
        .slice(lastSignal + 1)
        .some((event) => event.workflowTaskCompletedEventAttributes || event.workflowTaskFailedEventAttributes);
      return lastSignal >= 0 && taskEnded ? events : undefined;
    },
    15_000,
    'a workflow task after the last signal',
  );
}

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

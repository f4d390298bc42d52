import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { newKeyEntry, parseKeyring } from '../../lib/keyring.js';
import { EncryptionCodec } from '../../lib/payload-encryption.js';
import { isUnreadablePayload } from '../../lib/unreadable-payload.js';
import { refuseUnreadableArguments } from '../../workers/unreadable-arguments.js';
import { readableResults } from '../../workflows/payload-checks.js';

const secret = { phoneNumber: '6281234567890', pushName: 'Toko Rahasia' };
const service = new EncryptionCodec(parseKeyring(newKeyEntry('k1')));

const encrypted = async (codec: EncryptionCodec, value: unknown): Promise<Payload> => {
  const [payload] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  assert.ok(payload);
  return payload;
};

/** What a payload decodes to, as the workflow would read it. */
const decoded = async (payload: Payload): Promise<unknown> => {
  const [result] = await service.decode([payload]);
  assert.ok(result);
  return defaultPayloadConverter.fromPayload(result);
};

/**
 * The codec never throws on a payload it cannot read: a throw would fail, over and over, the workflow task carrying
 * it. It decodes to a marker that says why in fixed words, and holds nothing of what came.
 */
describe('the payload codec and payloads it cannot read', () => {
  it('decodes what it encrypted', async () => {
    assert.deepEqual(await decoded(await encrypted(service, secret)), secret);
  });

  it('decodes every unreadable payload to the marker, never holding what the payload carried', async () => {
    const tampered = await encrypted(service, secret);
    const data = Buffer.from(tampered.data ?? []);
    data[data.length - 20] = (data[data.length - 20] ?? 0) ^ 1;
    const cases: Array<[what: string, payload: Payload, reason: string]> = [
      ['plain JSON', defaultPayloadConverter.toPayload(secret), 'not encrypted'],
      ['no payload at all', { metadata: {}, data: new Uint8Array() }, 'not encrypted'],
      [
        'encrypted under a key the service does not hold',
        await encrypted(new EncryptionCodec(parseKeyring(newKeyEntry('k-elsewhere'))), secret),
        'unknown key',
      ],
      [
        "encrypted under another key that takes the service key's id",
        await encrypted(new EncryptionCodec(parseKeyring(newKeyEntry('k1'))), secret),
        'authentication failed',
      ],
      ['a ciphertext changed by one bit', { ...tampered, data }, 'authentication failed'],
      [
        'a ciphertext too short to hold a nonce and a tag',
        { metadata: tampered.metadata, data: new Uint8Array(8) },
        'authentication failed',
      ],
    ];
    for (const [what, payload, reason] of cases) {
      const [marker] = await service.decode([payload]);
      assert.equal(Buffer.from(marker?.metadata?.encoding ?? []).toString(), 'json/plain', what);
      assert.ok(
        !Buffer.from(marker?.data ?? [])
          .toString()
          .includes(secret.phoneNumber),
        `${what}: nothing of it`,
      );
      const value = await decoded(payload);
      assert.deepEqual(value, { unreadablePayload: reason }, what);
      assert.ok(isUnreadablePayload(value), what);
    }
  });

  it('decodes the readable payloads of a batch that holds an unreadable one', async () => {
    const payloads = [
      await encrypted(service, 'first'),
      defaultPayloadConverter.toPayload('forged'),
      await encrypted(service, 'third'),
    ];
    const values = (await service.decode(payloads)).map((payload) => defaultPayloadConverter.fromPayload(payload));
    assert.deepEqual(values, ['first', { unreadablePayload: 'not encrypted' }, 'third']);
  });
});

/** Where no handler's shape check stands between the marker and the code that reads it, it is refused outright. */
describe('activities never take the marker for a payload', () => {
  const marker = { unreadablePayload: 'not encrypted' };

  it("the workflow's view of a result: the marker throws a non-retryable UnreadablePayload failure", async () => {
    const activities = readableResults({ echo: async (value: unknown) => value });
    assert.deepEqual(await activities.echo({ status: 'connected' }), { status: 'connected' });
    await assert.rejects(
      activities.echo(marker),
      (error: unknown) =>
        error instanceof ApplicationFailure && error.type === 'UnreadablePayload' && error.nonRetryable,
    );
  });

  it("the worker's view of arguments: the marker fails the attempt, to be retried, and the activity never runs", async () => {
    const execute = refuseUnreadableArguments({} as never).inbound?.execute;
    assert.ok(execute);
    let runs = 0;
    const activity = async () => {
      runs += 1;
      return 'done';
    };
    assert.equal(await execute({ args: ['readable'], headers: {} }, activity), 'done');
    await assert.rejects(
      execute({ args: ['readable', marker], headers: {} }, activity),
      (error: unknown) =>
        error instanceof ApplicationFailure && error.type === 'UnreadablePayload' && !error.nonRetryable,
    );
    assert.equal(runs, 1);
  });
});

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  METADATA_ENCODING_KEY,
  ValueError,
  type DataConverter,
  type Payload,
  type PayloadCodec,
} from '@temporalio/common';
import proto from '@temporalio/proto';

/**
 * Everything the service hands Temporal (workflow inputs, signals, activity arguments and results, queries, updates,
 * failure messages) is encrypted before it leaves the process, with Temporal's own mechanism: a payload codec. The
 * server, its database and anyone reading histories see ciphertext; only processes holding the keys read them.
 * AES-256-GCM also authenticates: a payload written without the key (a forged signal) does not decode.
 */

// @temporalio/proto is CommonJS: its namespaces arrive on the default import.
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const ENCRYPTED = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Named keys; payloads are written with the active one and read with whichever their metadata names. */
export interface PayloadKeyring {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/**
 * `TEMPORAL_PAYLOAD_KEYS`: comma-separated `id:base64` entries of 32-byte keys, the active one first. To rotate, put
 * a new key first and keep the old ones while histories written with them may still be read.
 */
export function parsePayloadKeys(value: string): PayloadKeyring {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const separator = entry.indexOf(':');
      const id = entry.slice(0, separator);
      const key = Buffer.from(entry.slice(separator + 1), 'base64');
      if (separator < 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(id))
        throw new Error(`a key entry must be id:base64 (${id || entry.slice(0, 8)}…)`);
      if (key.length !== 32) throw new Error(`key ${id} must be 32 bytes of base64 (AES-256), not ${key.length}`);
      return [id, key] as const;
    });
  const first = entries[0];
  if (!first) throw new Error('no key given');
  return { activeKeyId: first[0], keys: new Map(entries) };
}

/** A new random key entry for TEMPORAL_PAYLOAD_KEYS. */
export function newPayloadKeyEntry(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.activeKeyId;
    const key = this.requireKey(keyId);
    return payloads.map((payload) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const plain = ProtoPayload.encode(payload).finish();
      const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED), [KEY_ID]: encoder.encode(keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED || !payload.data) {
        throw new ValueError('refusing a payload that is not encrypted: it was not written by this service');
      }
      const keyIdBytes = payload.metadata?.[KEY_ID];
      const key = this.requireKey(keyIdBytes ? decoder.decode(keyIdBytes) : '');
      const data = Buffer.from(payload.data);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return ProtoPayload.decode(plain);
    });
  }

  private requireKey(keyId: string): Buffer {
    const key = this.keyring.keys.get(keyId);
    if (!key) throw new ValueError(`no payload key ${keyId || '(unnamed)'} in TEMPORAL_PAYLOAD_KEYS`);
    return key;
  }
}

/**
 * The data converter of every Temporal client, worker and replay of the service. Failure messages and stack traces
 * go into the encrypted payload too (`encodeCommonAttributes`, workflows/failure-converter.ts): they can quote what
 * WhatsApp said about an account. The failure converter is loaded by path, as the workflow sandbox needs it.
 */
export function encryptingDataConverter(keyring: PayloadKeyring) {
  return {
    payloadCodecs: [new EncryptionCodec(keyring)],
    failureConverterPath: fileURLToPath(new URL('../workflows/failure-converter.ts', import.meta.url)),
  } satisfies DataConverter;
}

type KeysEnv = Record<string, unknown> & { TEMPORAL_PAYLOAD_KEYS?: string | undefined };

function keyringFromEnv(env: KeysEnv): PayloadKeyring {
  const value = env.TEMPORAL_PAYLOAD_KEYS;
  if (!value) throw new Error('TEMPORAL_PAYLOAD_KEYS is not set: the payload codec has no key');
  return parsePayloadKeys(value);
}

/** The data converter with the keys TEMPORAL_PAYLOAD_KEYS holds. */
export function dataConverterFromEnv(env: KeysEnv = process.env) {
  return encryptingDataConverter(keyringFromEnv(env));
}

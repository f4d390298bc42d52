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
import { keyringFromEnv, type Keyring } from './keyring.js';

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

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

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
    const key = this.keyring.key(keyId, 'temporal-payloads');
    if (!key) throw new ValueError(`no key ${keyId || '(unnamed)'} in ENCRYPTION_KEYS`);
    return key;
  }
}

/**
 * The data converter of every Temporal client, worker and replay of the service. Failure messages and stack traces
 * go into the encrypted payload too (`encodeCommonAttributes`, workflows/failure-converter.ts): they can quote what
 * WhatsApp said about an account. The failure converter is loaded by path, as the workflow sandbox needs it.
 */
export function encryptingDataConverter(keyring: Keyring) {
  return {
    payloadCodecs: [new EncryptionCodec(keyring)],
    failureConverterPath: fileURLToPath(new URL('../workflows/failure-converter.ts', import.meta.url)),
  } satisfies DataConverter;
}

/** The data converter with the keys ENCRYPTION_KEYS holds. */
export function dataConverterFromEnv(env: Parameters<typeof keyringFromEnv>[0] = process.env) {
  return encryptingDataConverter(keyringFromEnv(env));
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  encodingTypes,
  METADATA_ENCODING_KEY,
  ValueError,
  type DataConverter,
  type Payload,
  type PayloadCodec,
} from '@temporalio/common';
import proto from '@temporalio/proto';
import { keyringFromEnv, type Keyring } from './keyring.js';
import type { UnreadablePayload, UnreadableReason } from './unreadable-payload.js';

/**
 * Everything the service hands Temporal (workflow inputs, signals, activity arguments and results, queries, updates,
 * failure messages) is encrypted before it leaves the process, with Temporal's own mechanism: a payload codec. The
 * server, its database and anyone reading histories see ciphertext; only processes holding the keys read them.
 * AES-256-GCM also authenticates: a payload written without the key (a forged signal) does not decode, and the
 * workflows refuse what it decodes to instead.
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

  /**
   * A payload this service did not write (not encrypted, under a key it does not hold, a forgery that fails
   * authentication) decodes to the plain JSON marker of lib/unreadable-payload.ts instead of throwing. A throw fails
   * the workflow task that carries the payload, and every retry of the task carries it again: one forged signal would
   * wedge its account for good. The marker reaches the workflow like any argument, and the workflow refuses it
   * (workflows/payload-checks.ts). It says why in a few fixed words, never what the payload held.
   */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const decoded = this.decrypt(payload);
      return typeof decoded === 'string' ? unreadablePayload(decoded) : decoded;
    });
  }

  private decrypt(payload: Payload): Payload | UnreadableReason {
    if (!isEncryptedPayload(payload)) return 'not encrypted';
    const keyIdBytes = payload.metadata?.[KEY_ID];
    const key = this.keyring.key(keyIdBytes ? decoder.decode(keyIdBytes) : '', 'temporal-payloads');
    if (!key) return 'unknown key';
    const data = Buffer.from(payload.data ?? []);
    if (data.length < NONCE_BYTES + TAG_BYTES) return 'authentication failed';
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      return 'authentication failed';
    }
    try {
      return ProtoPayload.decode(plain);
    } catch {
      return 'malformed';
    }
  }

  private requireKey(keyId: string): Buffer {
    const key = this.keyring.key(keyId, 'temporal-payloads');
    if (!key) throw new ValueError(`no key ${keyId || '(unnamed)'} in ENCRYPTION_KEYS`);
    return key;
  }
}

/** Whether a payload is one this codec wrote (or claims to be): payloads of any other encoding are not its own. */
export function isEncryptedPayload(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && decoder.decode(encoding) === ENCRYPTED;
}

function unreadablePayload(reason: UnreadableReason): Payload {
  const marker: UnreadablePayload = { unreadablePayload: reason };
  return {
    metadata: { [METADATA_ENCODING_KEY]: encoder.encode(encodingTypes.METADATA_ENCODING_JSON) },
    data: encoder.encode(JSON.stringify(marker)),
  };
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
export function dataConverterFromEnv(env: Parameters<typeof keyringFromEnv>[0]) {
  return encryptingDataConverter(keyringFromEnv(env));
}

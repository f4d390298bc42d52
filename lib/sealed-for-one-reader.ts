import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/**
 * Bytes sealed for one reader that exists only in one process's memory: the reader makes an X25519 key pair, hands
 * out the public half, and alone can open what is sealed to it (an ephemeral key agreement, HKDF-SHA-256, AES-256-GCM
 * bound to `context`). What passes through a store on its way (a table, a workflow's history) is unreadable there, and
 * stays so once the reader's process forgot its private half.
 */
export interface OneReader {
  /** The public half, base64 of its SPKI encoding: what a sealer is given. */
  publicKey: string;
  open(sealed: Buffer, context: string): Buffer;
}

const VERSION = 1;
const SPKI_BYTES = 44;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function newOneReader(): OneReader {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const publicSpki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    publicKey: publicSpki.toString('base64'),
    open(sealed, context) {
      if (sealed.length < 1 + SPKI_BYTES + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION)
        throw new Error('not sealed for a reader');
      const senderSpki = sealed.subarray(1, 1 + SPKI_BYTES);
      const iv = sealed.subarray(1 + SPKI_BYTES, 1 + SPKI_BYTES + IV_BYTES);
      const tag = sealed.subarray(1 + SPKI_BYTES + IV_BYTES, 1 + SPKI_BYTES + IV_BYTES + TAG_BYTES);
      const body = sealed.subarray(1 + SPKI_BYTES + IV_BYTES + TAG_BYTES);
      const sender = createPublicKey({ key: senderSpki, format: 'der', type: 'spki' });
      const key = sharedKey(privateKey, sender, senderSpki, publicSpki, context);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]);
    },
  };
}

/** Seals `plain` so that only the holder of `readerPublicKey`'s private half opens it, and only under `context`. */
export function sealForOneReader(readerPublicKey: string, context: string, plain: Buffer): Buffer {
  const readerSpki = Buffer.from(readerPublicKey, 'base64');
  const reader = createPublicKey({ key: readerSpki, format: 'der', type: 'spki' });
  if (reader.asymmetricKeyType !== 'x25519') throw new Error('the reader key is not an X25519 public key');
  const own = generateKeyPairSync('x25519');
  const ownSpki = own.publicKey.export({ format: 'der', type: 'spki' });
  const key = sharedKey(own.privateKey, reader, ownSpki, readerSpki, context);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), ownSpki, iv, cipher.getAuthTag(), body]);
}

function sharedKey(
  privateKey: KeyObject,
  publicKey: KeyObject,
  senderSpki: Buffer,
  readerSpki: Buffer,
  context: string,
): Buffer {
  const secret = diffieHellman({ privateKey, publicKey });
  const salt = Buffer.concat([senderSpki, readerSpki]);
  return Buffer.from(hkdfSync('sha256', secret, salt, `wa-connect one reader ${context}`, 32));
}

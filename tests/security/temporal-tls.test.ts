import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporalTlsFromEnv } from '../../lib/temporal-tls.js';

describe('TLS to Temporal (settings)', () => {
  const files: Record<string, string> = { '/ca.pem': 'CA', '/client.pem': 'CERT', '/client.key': 'KEY' };
  const read = (path: string) => Buffer.from(files[path] ?? '');

  it('none without settings; server TLS with a CA; mutual TLS with a certificate and its key', () => {
    assert.equal(temporalTlsFromEnv({}, read), undefined);
    assert.deepEqual(temporalTlsFromEnv({ TEMPORAL_TLS_CA: '/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'temporal' }, read), {
      serverNameOverride: 'temporal',
      serverRootCACertificate: Buffer.from('CA'),
    });
    const mutual = temporalTlsFromEnv(
      { TEMPORAL_TLS_CA: '/ca.pem', TEMPORAL_TLS_CERT: '/client.pem', TEMPORAL_TLS_KEY: '/client.key' },
      read,
    );
    assert.deepEqual(mutual?.clientCertPair, { crt: Buffer.from('CERT'), key: Buffer.from('KEY') });
  });

  it('a certificate without its key is refused, never a silent plaintext connection', () => {
    assert.throws(() => temporalTlsFromEnv({ TEMPORAL_TLS_CERT: '/client.pem' }, read), /go together/);
    assert.throws(() => temporalTlsFromEnv({ TEMPORAL_TLS_CA: '/nowhere/ca.pem' }), /cannot read the TLS file/);
  });
});

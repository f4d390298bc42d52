import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { findFreePort } from '../../infra/ports.js';
import { resolveTemporalCli } from '../../infra/temporal-cli.js';
import type { RunningTemporal } from '../../infra/temporal-dev-server.js';
import {
  resolveTemporalServer,
  startTemporalServer,
  temporalClientTlsEnv,
  type TemporalServerTls,
} from '../../infra/temporal-server.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { temporalTlsFromEnv, type TemporalTls } from '../../lib/temporal-tls.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { TestCertificateAuthority, type TestCertificate } from '../helpers/certificates.js';
import { openPool, testLog, testStackEnv } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

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

/**
 * Temporal's production server started with mutual TLS (infra/temporal/config/production.yaml's tls block, from the
 * same files docker-compose mounts): only clients with a certificate of its CA get in, and the worker and the client
 * configured by TEMPORAL_TLS_* connect an account through it.
 */
describe("mutual TLS to Temporal's production server", { timeout: 900_000 }, () => {
  let temporal: RunningTemporal | undefined;
  let pool: DatabasePool;
  let serverTls: TemporalServerTls;
  let stranger: TestCertificate;
  let address: string;

  before(async () => {
    const dir = join(testStackEnv().dataDir, 'temporal-mtls');
    const ca = await TestCertificateAuthority.create(join(dir, 'certificates'), 'temporal');
    const server = await ca.issue('temporal-frontend', {
      altNames: ['DNS:temporal-frontend', 'IP:127.0.0.1'],
      usages: ['serverAuth', 'clientAuth'],
    });
    const client = await ca.issue('wa-connect-worker', { usages: ['clientAuth'] });
    const otherCa = await TestCertificateAuthority.create(join(dir, 'certificates'), 'other');
    stranger = await otherCa.issue('stranger', { usages: ['clientAuth'] });
    serverTls = {
      ca: ca.cert,
      serverCert: server.cert,
      serverKey: server.key,
      clientCert: client.cert,
      clientKey: client.key,
      serverName: 'temporal-frontend',
    };
    const [binaries, cliPath] = await Promise.all([resolveTemporalServer(testLog), resolveTemporalCli(testLog)]);
    temporal = await startTemporalServer({
      binaries,
      cliPath,
      postgresOwnerUrl: testStackEnv().databaseUrl,
      dataDir: join(dir, 'server'),
      port: await findFreePort(),
      uiPort: null,
      namespace: 'default',
      log: testLog,
      tls: serverTls,
    });
    address = temporal.address;
    pool = await openPool();
  });
  after(async () => {
    await temporal?.stop();
    await pool?.end();
  });

  it('refuses a client in plaintext, one without a certificate, and one whose certificate another CA signed', async () => {
    const trusted = temporalTlsFromEnv(temporalClientTlsEnv(serverTls));
    const attempts: [string, TemporalTls | undefined][] = [
      ['plaintext', undefined],
      ['no client certificate', { ...trusted, clientCertPair: undefined }],
      [
        'a certificate of another CA',
        { ...trusted, clientCertPair: { crt: await readFile(stranger.cert), key: await readFile(stranger.key) } },
      ],
    ];
    for (const [what, tls] of attempts) {
      await assert.rejects(async () => {
        const connection = await Connection.connect({ address, connectTimeout: 3_000, ...(tls ? { tls } : {}) });
        try {
          await connection.withDeadline(Date.now() + 3_000, () => connection.workflowService.getSystemInfo({}));
        } finally {
          await connection.close();
        }
      }, `${what} is refused`);
    }
    const connection = await Connection.connect({ address, tls: trusted });
    try {
      assert.ok(await connection.workflowService.getSystemInfo({}), 'a certificate of its CA gets in');
    } finally {
      await connection.close();
    }
  });

  it('a worker and a client configured by TEMPORAL_TLS_* connect an account over mutual TLS', async () => {
    const tlsEnv = temporalClientTlsEnv(serverTls);
    const { worker, taskQueue } = await startTestWorker({
      ...FAST_SIMULATOR_ENV,
      TEMPORAL_ADDRESS: address,
      ...tlsEnv,
    });
    const connection = await Connection.connect({ address, tls: temporalTlsFromEnv(tlsEnv) });
    try {
      const accounts = new AccountDriver(
        pool,
        new Client({ connection, dataConverter: dataConverterFromEnv(process.env) }),
        taskQueue,
      );
      const { sessionId } = await accounts.create();
      await accounts.showingQr(sessionId);
      const phone = randomPhone();
      await accounts.phone(sessionId, 'scan', { phone, pushName: 'Toko Aman' });
      assert.equal((await accounts.rowWithStatus(sessionId, 'connected')).phone_number, phone);
    } finally {
      await connection.close();
      await worker.stop('SIGTERM');
    }
  });
});

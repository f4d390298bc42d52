import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);
/** A new P-256 key, not encrypted (the servers and workers read it unattended). */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface TestCertificate {
  cert: string;
  key: string;
}

/** A throwaway certificate authority made with openssl, valid for a day, and certificates it signs. */
export class TestCertificateAuthority {
  readonly cert: string;
  private readonly key: string;

  private constructor(
    private readonly dir: string,
    readonly name: string,
  ) {
    this.cert = join(dir, `${name}-ca.pem`);
    this.key = join(dir, `${name}-ca.key`);
  }

  static async create(dir: string, name: string): Promise<TestCertificateAuthority> {
    await mkdir(dir, { recursive: true });
    const ca = new TestCertificateAuthority(dir, name);
    await openssl(
      'req',
      '-x509',
      ...NEW_KEY,
      '-keyout',
      ca.key,
      '-out',
      ca.cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name} test CA`,
    );
    return ca;
  }

  /** A certificate for `commonName`, with the subject alternative names and extended key usages given. */
  async issue(commonName: string, options: { altNames?: string[]; usages: string[] }): Promise<TestCertificate> {
    const base = join(this.dir, `${this.name}-${commonName}`);
    const [cert, key, request, extensions] = [`${base}.pem`, `${base}.key`, `${base}.csr`, `${base}.ext`];
    await openssl('req', ...NEW_KEY, '-keyout', key, '-out', request, '-subj', `/CN=${commonName}`);
    const lines = [`extendedKeyUsage=${options.usages.join(',')}`];
    if (options.altNames?.length) lines.push(`subjectAltName=${options.altNames.join(',')}`);
    await writeFile(extensions, `${lines.join('\n')}\n`);
    await openssl(
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      this.cert,
      '-CAkey',
      this.key,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '1',
      '-extfile',
      extensions,
    );
    return { cert, key };
  }
}

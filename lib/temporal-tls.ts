import { readFileSync } from 'node:fs';

/** The TLS settings of a Temporal connection, as both the client's and the worker's connections take them. */
export interface TemporalTls {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalTlsEnv {
  TEMPORAL_TLS_CA?: string | undefined;
  TEMPORAL_TLS_CERT?: string | undefined;
  TEMPORAL_TLS_KEY?: string | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
}

/**
 * TLS, and mutual TLS with a client certificate, to Temporal's frontend when the TEMPORAL_TLS_* files are set; none
 * when none is. A certificate without its key (or the reverse) is a configuration error, never a silent plaintext.
 */
export function temporalTlsFromEnv(
  env: TemporalTlsEnv,
  read: (path: string) => Buffer = readPem,
): TemporalTls | undefined {
  const { TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_SERVER_NAME: name } = env;
  if (!ca && !cert && !key && !name) return undefined;
  if (Boolean(cert) !== Boolean(key)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: a client certificate needs its key');
  }
  return {
    ...(name ? { serverNameOverride: name } : {}),
    ...(ca ? { serverRootCACertificate: read(ca) } : {}),
    ...(cert && key ? { clientCertPair: { crt: read(cert), key: read(key) } } : {}),
  };
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read the TLS file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

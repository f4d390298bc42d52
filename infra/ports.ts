import { createServer } from 'node:net';
import { ConfigError } from '../config/env.js';

/** Fails fast, naming the port and what wanted it, when something already listens there. */
export async function assertPortFree(port: number, host: string, purpose: string, hint: string): Promise<void> {
  const free = await canListen(port, host);
  if (!free) {
    throw new ConfigError(`port ${port} on ${host} (${purpose}) is already in use; stop what holds it or ${hint}`);
  }
}

/** A port the OS reports free right now (tests use these so they never touch a developer's running stack). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/**
 * A free port below 32768, outside Linux's ephemeral range: Temporal stores membership ports as a smallint, and a
 * port the OS hands out for outgoing connections could be taken again before the server binds it.
 */
export async function findFreeLowPort(host = '127.0.0.1', notThese: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!notThese.has(port) && (await canListen(port, host))) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

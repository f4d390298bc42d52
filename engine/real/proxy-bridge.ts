import { createServer, type Server, type Socket } from 'node:net';
import type { SessionProxy } from '../../domain/proxy-setting.js';
import { dialThroughProxy, ProxyFailure, SocketReader, type ProxyNetworkPolicy } from '../proxy-dialer.js';

/** How long a tunnel through the account's proxy may take to open before the page's request fails. */
const DIAL_TIMEOUT_MS = 15_000;

/**
 * What the account's proxy carries: WhatsApp's own hosts. Chromium also calls Google's (component updates, sign-in
 * checks) whatever its flags say; through a number's proxy those would tie the address to a browser that is not
 * WhatsApp's, so they are refused here.
 */
const WHATSAPP_DOMAINS = ['whatsapp.com', 'whatsapp.net'];

export function carriesTarget(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return WHATSAPP_DOMAINS.some((domain) => name === domain || name.endsWith(`.${domain}`));
}

/**
 * The proxy Chromium is given for one session: an HTTP CONNECT proxy on loopback, inside the worker, that opens each
 * tunnel through the account's own proxy. Chromium never sees the account's proxy or its credentials (neither on its
 * command line nor in its memory; Chromium cannot send SOCKS5 credentials at all), and a tunnel the account's proxy
 * would not open is known here by its reason, not as a page that failed to load. It carries WhatsApp's hosts only.
 */
export class ProxyBridge {
  private readonly sockets = new Set<Socket>();
  /** Why the last tunnel failed, until one opens again. */
  private lastFailure: ProxyFailure | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async open(
    proxy: SessionProxy,
    policy: ProxyNetworkPolicy,
    onFailure: (failure: ProxyFailure) => void,
  ): Promise<ProxyBridge> {
    let bridge: ProxyBridge | null = null;
    const server = createServer((client) => void bridge?.serve(client, proxy, policy, onFailure));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    bridge = new ProxyBridge(server, port);
    return bridge;
  }

  /** Chromium's --proxy-server value. */
  get chromiumProxyServer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  failure(): ProxyFailure | null {
    return this.lastFailure;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private async serve(
    client: Socket,
    proxy: SessionProxy,
    policy: ProxyNetworkPolicy,
    onFailure: (failure: ProxyFailure) => void,
  ) {
    this.track(client);
    // What Chromium sends past its request (the start of TLS) goes back to the socket for the tunnel.
    const reader = new SocketReader(client);
    const head = await reader
      .until('\r\n\r\n', 16_384)
      .then((bytes) => bytes.toString('latin1'))
      .catch(() => null);
    reader.release();
    const request = head && /^CONNECT ([^\s]+) HTTP\/1\.[01]\r\n/.exec(head);
    const target = request?.[1] ? parseAuthority(request[1]) : null;
    if (!head || !target) {
      client.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!carriesTarget(target.host)) {
      client.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const userAgent = /\r\nUser-Agent: ([^\r\n]*)/i.exec(head)?.[1];
    let upstream: Socket;
    try {
      upstream = await dialThroughProxy(proxy, target, DIAL_TIMEOUT_MS, policy, userAgent);
    } catch (error) {
      const failure = error instanceof ProxyFailure ? error : new ProxyFailure('proxy_unreachable', String(error));
      this.lastFailure = failure;
      onFailure(failure);
      client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
      return;
    }
    this.lastFailure = null;
    this.track(upstream);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }
}

function parseAuthority(authority: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(authority);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  return host && port > 0 && port < 65536 ? { host, port } : null;
}

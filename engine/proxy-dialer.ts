import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { isIP } from 'node:net';
import type { SessionProxy } from '../domain/proxy-setting.js';
import { addressRefusal, guardedLookup, type WebhookNetworkPolicy } from '../webhooks/network-policy.js';

/**
 * Where an account's proxy may be: a tenant names it, so it is held to the webhooks' network policy (public
 * addresses, checked on every address its name resolves to), with its own list of exempt hosts
 * (PROXY_ALLOWED_HOSTS): without it, a proxy setting would let a tenant probe the worker's own network.
 */
export type ProxyNetworkPolicy = WebhookNetworkPolicy;

/** Why a proxy did not carry a connection: each is an account's failure reason (domain/account-wait.ts). */
export type ProxyFailureReason = 'proxy_unreachable' | 'proxy_auth_failed' | 'proxy_refused' | 'proxy_not_allowed';

export class ProxyFailure extends Error {
  override readonly name = 'ProxyFailure';
  constructor(
    readonly reason: ProxyFailureReason,
    detail: string,
  ) {
    super(detail);
  }
}

/** Where a session's proxy is checked at each start: the address WhatsApp Web connects to first. */
export const WHATSAPP_WEB_TARGET = { host: 'web.whatsapp.com', port: 443 } as const;

const USER_AGENT = 'wa-connect';

/**
 * Opens a tunnel to `target` through the proxy (HTTP CONNECT over TCP or TLS, or SOCKS5 with the username/password
 * method), answering the connected socket. A proxy that cannot be reached or does not answer within `timeoutMs` is
 * `proxy_unreachable`, one that rejects the credentials (or wants some and has none) `proxy_auth_failed`, one that
 * will not connect to the target `proxy_refused`.
 */
export async function dialThroughProxy(
  proxy: SessionProxy,
  target: { host: string; port: number },
  timeoutMs: number,
  policy: ProxyNetworkPolicy,
  userAgent = USER_AGENT,
): Promise<Socket> {
  const socket = await reach(proxy, timeoutMs, policy);
  const timer = setTimeout(
    () => socket.destroy(new ProxyFailure('proxy_unreachable', `no answer within ${timeoutMs / 1000} s`)),
    timeoutMs,
  );
  try {
    const reader = new SocketReader(socket);
    if (proxy.scheme === 'socks5') await socks5Connect(socket, reader, proxy, target);
    else await httpConnect(socket, reader, proxy, target, userAgent);
    reader.release();
    return socket;
  } catch (error) {
    socket.destroy();
    if (error instanceof ProxyFailure) throw error;
    throw new ProxyFailure('proxy_unreachable', `it closed the connection (${(error as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
}

/** How long the account's proxy may take to open a tunnel to WhatsApp Web when its session starts. */
export const PROXY_PROBE_TIMEOUT_MS = 10_000;

/** Checks the proxy carries a connection to WhatsApp Web; null when it does. */
export async function probeProxy(
  proxy: SessionProxy,
  timeoutMs: number,
  policy: ProxyNetworkPolicy,
): Promise<ProxyFailure | null> {
  try {
    (await dialThroughProxy(proxy, WHATSAPP_WEB_TARGET, timeoutMs, policy)).destroy();
    return null;
  } catch (error) {
    return error instanceof ProxyFailure ? error : new ProxyFailure('proxy_unreachable', String(error));
  }
}

function reach(proxy: SessionProxy, timeoutMs: number, policy: ProxyNetworkPolicy): Promise<Socket> {
  const exempt = policy.allowedHosts.has(proxy.host.toLowerCase());
  // A literal address is never looked up: it is judged here; a name is judged on every address it resolves to.
  const literalRefusal = !exempt && isIP(proxy.host) !== 0 ? addressRefusal(proxy.host) : null;
  if (literalRefusal)
    return Promise.reject(new ProxyFailure('proxy_not_allowed', `${proxy.host} is ${literalRefusal}`));
  const lookup = guardedLookup(policy, proxy.host);
  return new Promise((resolve, reject) => {
    const socket =
      proxy.scheme === 'https'
        ? connectTls({
            host: proxy.host,
            port: proxy.port,
            servername: isIP(proxy.host) === 0 ? proxy.host : undefined,
            ALPNProtocols: ['http/1.1'],
            lookup,
          })
        : connectTcp({ host: proxy.host, port: proxy.port, lookup });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyFailure('proxy_unreachable', `no connection within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once(proxy.scheme === 'https' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'EWEBHOOKREFUSED'
          ? new ProxyFailure('proxy_not_allowed', error.message)
          : new ProxyFailure('proxy_unreachable', error.code ?? error.message),
      );
    });
  });
}

async function httpConnect(
  socket: Socket,
  reader: SocketReader,
  proxy: SessionProxy,
  target: { host: string; port: number },
  userAgent: string,
): Promise<void> {
  const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, `User-Agent: ${userAgent}`];
  if (proxy.credentials) {
    const basic = Buffer.from(`${proxy.credentials.username}:${proxy.credentials.password}`).toString('base64');
    lines.push(`Proxy-Authorization: Basic ${basic}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const head = (await reader.until('\r\n\r\n', 16_384)).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  if (status === 200) return;
  if (status === 407)
    throw new ProxyFailure(
      'proxy_auth_failed',
      proxy.credentials ? 'HTTP 407' : 'it asks for credentials and has none',
    );
  if (status === 0) throw new ProxyFailure('proxy_unreachable', 'it did not answer as an HTTP proxy');
  throw new ProxyFailure('proxy_refused', `HTTP ${status} for ${authority}`);
}

const SOCKS_REPLIES: Record<number, string> = {
  1: 'general failure',
  2: 'not allowed by its rules',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

async function socks5Connect(
  socket: Socket,
  reader: SocketReader,
  proxy: SessionProxy,
  target: { host: string; port: number },
): Promise<void> {
  const methods = proxy.credentials ? [0x00, 0x02] : [0x00];
  socket.write(Buffer.from([0x05, methods.length, ...methods]));
  const [version, method] = await reader.exactly(2);
  if (version !== 0x05) throw new ProxyFailure('proxy_unreachable', 'it did not answer as a SOCKS5 proxy');
  if (method === 0xff)
    throw new ProxyFailure(
      'proxy_auth_failed',
      proxy.credentials ? 'it accepts no username and password' : 'it asks for credentials and has none',
    );
  if (method === 0x02) {
    const credentials = proxy.credentials;
    if (!credentials) throw new ProxyFailure('proxy_auth_failed', 'it asks for credentials and has none');
    const user = Buffer.from(credentials.username);
    const pass = Buffer.from(credentials.password);
    socket.write(Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]));
    const [, status] = await reader.exactly(2);
    if (status !== 0x00) throw new ProxyFailure('proxy_auth_failed', 'SOCKS5 login refused');
  }
  const host = Buffer.from(target.host);
  socket.write(
    Buffer.concat([
      Buffer.from([0x05, 0x01, 0x00, 0x03, host.length]),
      host,
      Buffer.from([target.port >> 8, target.port & 0xff]),
    ]),
  );
  const [, reply, , addressType] = await reader.exactly(4);
  if (reply !== 0x00)
    throw new ProxyFailure(
      'proxy_refused',
      `${SOCKS_REPLIES[reply ?? 1] ?? `reply ${reply}`} for ${target.host}:${target.port}`,
    );
  const addressBytes = addressType === 0x01 ? 4 : addressType === 0x04 ? 16 : ((await reader.exactly(1))[0] ?? 0);
  await reader.exactly(addressBytes + 2);
}

/** Reads a handshake off a socket, then hands what came after it back to the socket's stream. */
export class SocketReader {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly onData = (chunk: Buffer) => {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.waiting?.();
  };
  private readonly onEnd = () => {
    this.failure ??= new Error('closed during the handshake');
    this.waiting?.();
  };
  private readonly onError = (error: Error) => {
    this.failure ??= error;
    this.waiting?.();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
  }

  async exactly(n: number): Promise<Buffer> {
    await this.waitFor(() => this.buffered.length >= n);
    const taken = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return taken;
  }

  async until(delimiter: string, limit: number): Promise<Buffer> {
    let end = -1;
    await this.waitFor(() => {
      end = this.buffered.indexOf(delimiter);
      if (end < 0 && this.buffered.length > limit) throw new Error('the proxy answered with an oversized header');
      return end >= 0;
    });
    const taken = this.buffered.subarray(0, end + delimiter.length);
    this.buffered = this.buffered.subarray(end + delimiter.length);
    return taken;
  }

  /** Stops reading; bytes already past the handshake go back to the socket for whoever reads it next. */
  release(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    if (this.buffered.length > 0) this.socket.unshift(this.buffered);
  }

  private async waitFor(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
      this.waiting = null;
    }
  }
}

import { connect, createServer, type Server, type Socket } from 'node:net';

/** One tunnel a test proxy opened: where the client asked to go, whether it logged in, what it called itself. */
export interface RelayedTunnel {
  target: string;
  authorized: boolean;
  userAgent: string | null;
}

export interface TestProxy {
  url: string;
  port: number;
  /** Every tunnel asked for, in order (refused ones included, `authorized` false). */
  tunnels: RelayedTunnel[];
  close(): Promise<void>;
}

/**
 * A proxy on loopback for tests. Whatever target a tunnel asks for, it connects the client to a sink of its own on
 * loopback that holds the connection open: nothing it relays ever leaves the machine, and the test reads where the
 * client wanted to go. With `credentials`, a client without them (or with others) is refused as a real proxy does.
 */
export async function startTestProxy(
  scheme: 'http' | 'socks5',
  credentials: { username: string; password: string } | null = null,
): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const sink = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(sink);
  const sinkPort = portOf(sink);
  const tunnels: RelayedTunnel[] = [];
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    client.once('close', () => sockets.delete(client));
    void (scheme === 'http' ? serveHttp(client) : serveSocks5(client)).catch(() => client.destroy());
  });
  await listen(server);

  const toSink = (client: Socket) => {
    const upstream = connect(sinkPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  };

  async function serveHttp(client: Socket) {
    const head = await readUntil(client, '\r\n\r\n');
    const target = /^CONNECT (\S+) HTTP/.exec(head.toString('latin1'))?.[1] ?? '';
    const auth = /\r\nProxy-Authorization: Basic (\S+)/i.exec(head.toString('latin1'))?.[1];
    const userAgent = /\r\nUser-Agent: ([^\r\n]*)/i.exec(head.toString('latin1'))?.[1] ?? null;
    const authorized =
      credentials === null ||
      auth === Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    tunnels.push({ target, authorized, userAgent });
    if (!target) return void client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
    if (!authorized)
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    toSink(client);
  }

  async function serveSocks5(client: Socket) {
    const reader = byteReader(client);
    const [, count] = await reader(2);
    const methods = [...(await reader(count ?? 0))];
    const wanted = credentials ? 0x02 : 0x00;
    if (!methods.includes(wanted)) {
      tunnels.push({ target: '', authorized: false, userAgent: null });
      return void client.end(Buffer.from([0x05, 0xff]));
    }
    client.write(Buffer.from([0x05, wanted]));
    let authorized = true;
    if (credentials) {
      const [, userLength] = await reader(2);
      const username = (await reader(userLength ?? 0)).toString();
      const [passLength] = await reader(1);
      const password = (await reader(passLength ?? 0)).toString();
      authorized = username === credentials.username && password === credentials.password;
      client.write(Buffer.from([0x01, authorized ? 0x00 : 0x01]));
      if (!authorized) {
        tunnels.push({ target: '', authorized: false, userAgent: null });
        return void client.end();
      }
    }
    const [, , , addressType] = await reader(4);
    const host =
      addressType === 0x03
        ? (await reader((await reader(1))[0] ?? 0)).toString()
        : [...(await reader(addressType === 0x01 ? 4 : 16))].join('.');
    const portBytes = await reader(2);
    tunnels.push({ target: `${host}:${portBytes.readUInt16BE(0)}`, authorized, userAgent: null });
    client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0]));
    toSink(client);
  }

  return {
    url: `${scheme}://127.0.0.1:${portOf(server)}`,
    port: portOf(server),
    tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([server, sink].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function readUntil(socket: Socket, delimiter: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(delimiter);
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve(buffered.subarray(0, end + delimiter.length));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed')));
  });
}

/** Reads exactly n bytes at a time off the socket, in order. */
function byteReader(socket: Socket): (n: number) => Promise<Buffer> {
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake?.();
  });
  return async (n) => {
    while (buffered.length < n) {
      if (socket.destroyed) throw new Error('closed');
      await new Promise<void>((resolve) => {
        wake = resolve;
        socket.once('close', resolve);
      });
    }
    const taken = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return taken;
  };
}

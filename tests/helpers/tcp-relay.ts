import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  /** The loopback port the relay listens on, the same across a cut and its restore. */
  port: number;
  /** Closes every relayed connection and refuses new ones, as a dependency that went away. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /**
   * Holds what the connections open now send (a request stays in the relay, unanswered, as on a stalled network);
   * connections opened later pass.
   */
  hold(): void;
  /** Lets what was held go on, in order. */
  letGo(): void;
  close(): Promise<void>;
}

/** A loopback TCP relay to `target`, that a test cuts and restores to take a dependency away and give it back. */
export async function openTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const pairs = new Set<{ inbound: Socket; outbound: Socket }>();
  const held = new Set<{ inbound: Socket; outbound: Socket }>();
  let server: Server;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer((inbound) => {
        const outbound = connect(target.port, target.host);
        for (const socket of [inbound, outbound]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            inbound.destroy();
            outbound.destroy();
          });
        }
        const pair = { inbound, outbound };
        pairs.add(pair);
        inbound.on('close', () => pairs.delete(pair));
        inbound.pipe(outbound).pipe(inbound);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  const port = await listen(0);
  const hold = () => {
    for (const pair of pairs) {
      pair.inbound.unpipe(pair.outbound);
      pair.inbound.pause();
      held.add(pair);
    }
  };
  const letGo = () => {
    for (const pair of held) pair.inbound.pipe(pair.outbound);
    held.clear();
  };
  return { port, cut: stop, restore: async () => void (await listen(port)), hold, letGo, close: stop };
}

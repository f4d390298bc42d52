import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** How long a subscriber has to answer the close when the API stops. */
const SUBSCRIBER_CLOSE_GRACE_MS = 2_000;

/**
 * One WebSocket server for the process, shared by the event stream and the onboarding page: registered once, at the
 * top, so the two route groups do not each claim the HTTP server's upgrades.
 */
async function websocketsPlugin(app: FastifyInstance) {
  await app.register(websocket, {
    options: { maxPayload: 4 * 1024 },
    // Subscribers are told the server is going away (they resume with their last event id elsewhere); one that
    // never answers the close is cut off, so a half-closed socket cannot hold the process.
    preClose(this: FastifyInstance, done: () => void) {
      const server = this.websocketServer;
      for (const client of server.clients) client.close(1001, 'server stopping');
      const cutOff = setTimeout(() => {
        for (const client of server.clients) client.terminate();
      }, SUBSCRIBER_CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(cutOff);
        done();
      });
    },
  });
}

export default fp(websocketsPlugin, { name: 'websockets' });

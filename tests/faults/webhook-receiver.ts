import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../webhooks/signing.js';

/**
 * A backend's webhook endpoint that can be told to fail: it verifies every signature and counts each event id it
 * accepted (the `webhook-id` header is how a receiver de-duplicates retries).
 */
export class WebhookReceiver {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  secret = '';
  readonly accepted = new Map<string, number>();
  refused = 0;
  badSignatures = 0;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = createServer((request, response) => void receiver?.handle(request, response));
    receiver = new WebhookReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (this.mode === 'fail') {
      this.refused += 1;
      response.writeHead(500).end('receiver down');
      return;
    }
    if (this.mode === 'hang') {
      this.refused += 1;
      this.hanging.add(response);
      return;
    }
    const verified = verifyWebhook({
      headers: request.headers,
      rawBody: Buffer.concat(chunks).toString('utf8'),
      secret: this.secret,
    });
    if (!verified.ok) {
      this.badSignatures += 1;
      response.writeHead(401).end(verified.reason);
      return;
    }
    const id = String(request.headers['webhook-id']);
    this.accepted.set(id, (this.accepted.get(id) ?? 0) + 1);
    response.writeHead(204).end();
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

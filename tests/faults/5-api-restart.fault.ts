import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'slonik';
import WebSocket from 'ws';
import { z } from 'zod';
import { FaultStack, until } from './harness.js';
import { assertInvariants, connectAll, createAccounts, firstConnections, scan, waitForQrs } from './workload.js';

/**
 * A browser's subscription as docs/api.md tells clients to write it: on any close, reconnect with the last event id.
 */
class ResumingSubscriber {
  readonly ids: number[] = [];
  reconnects = 0;
  private socket: WebSocket | null = null;
  private closed = false;

  constructor(
    private readonly baseUrl: string,
    private readonly workspaceId: string,
    private readonly key: string,
  ) {}

  get lastEventId(): number | null {
    return this.ids.at(-1) ?? null;
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.connect(resolve));
  }

  private connect(onOpen?: () => void) {
    if (this.closed) return;
    const resume = this.lastEventId === null ? '' : `&lastEventId=${this.lastEventId}`;
    const socket = new WebSocket(
      `${this.baseUrl.replace('http', 'ws')}/v1/stream?workspaceId=${this.workspaceId}&access_token=${this.key}${resume}`,
    );
    this.socket = socket;
    socket.on('open', () => onOpen?.());
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as { id?: unknown };
      if (typeof message.id === 'number') this.ids.push(message.id);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.closed) return;
      this.reconnects += 1;
      setTimeout(() => this.connect(onOpen), 500);
    });
  }

  close() {
    this.closed = true;
    this.socket?.close();
  }
}

describe(
  'fault 5: the API process is killed and restarted while WebSocket clients are subscribed',
  { timeout: 600_000 },
  () => {
    let stack: FaultStack;
    const subscribers: ResumingSubscriber[] = [];
    before(async () => {
      stack = await FaultStack.start('api-restart');
    });
    after(async () => {
      for (const subscriber of subscribers) subscriber.close();
      await stack?.stop();
    });

    it('they reconnect with their last event id and miss nothing, in order, without duplicates', async () => {
      const workspaceId = 'fault-api-restart';
      for (let i = 0; i < 5; i += 1)
        subscribers.push(new ResumingSubscriber(stack.apiUrl, workspaceId, stack.adminKey));
      await Promise.all(subscribers.map((subscriber) => subscriber.open()));

      const accounts = await createAccounts(stack, workspaceId, 30, 'ar');
      await waitForQrs(stack, workspaceId, accounts.size);
      const scanning = scan(stack, accounts);
      await firstConnections(stack, workspaceId, 3);
      await stack.stopApi('SIGKILL');
      // Events keep being written while no API runs: the worker does not need it.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await stack.startApi();
      await scanning;
      await connectAll(stack, workspaceId, accounts, 180_000);
      await assertInvariants(stack, workspaceId, accounts);

      const all = await stack.pool.anyFirst(
        sql.type(
          z.object({ id: z.number() }),
        )`SELECT id FROM account_events WHERE workspace_id = ${workspaceId} ORDER BY id`,
      );
      for (const [index, subscriber] of subscribers.entries()) {
        await until(async () => subscriber.lastEventId === all.at(-1), 30_000, `subscriber ${index} caught up`);
        assert.ok(subscriber.reconnects >= 1, `subscriber ${index} lost its connection and came back`);
        assert.deepEqual(subscriber.ids, [...all], `subscriber ${index} got every event once, in order`);
      }
      assert.deepEqual(stack.alive(), { worker: true, api: true });
    });
  },
);

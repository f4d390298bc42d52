import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { firstDeliveryId, type WebhookRoute } from '../db/webhook-deliveries.js';
import { dispatchQueuedEvents } from '../db/webhook-outbox.js';
import type { Logger } from '../lib/logger.js';
import { PgListener } from '../lib/pg-listener.js';
import { webhookDelivery } from '../workflows/webhook-delivery.js';

/** Events one round claims: a round's transaction stays short, and a burst is taken in several. */
const ROUND_SIZE = 200;
/** Deliveries started at once within a round. */
const PARALLEL_STARTS = 16;
/** A start Temporal does not answer in this time is tried again in a later round. */
const START_DEADLINE_MS = 10_000;
/** Besides the notifications: what a lost notification or a failed start waits at most. */
const SWEEP_EVERY_MS = 5_000;

/**
 * The one place webhook deliveries start. Every account event an endpoint wants is written to the outbox (its row) in
 * the transaction of the change it tells of; each worker process's dispatcher is woken by the outbox row's
 * notification, claims waiting events and starts a delivery workflow for each endpoint an event goes to (one workflow
 * per event and endpoint, its id theirs). The workers share the work without coordination: a claimed event is skipped
 * by the others.
 */
export class WebhookDispatcher {
  private readonly listener: PgListener;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly pool: DatabasePool,
    databaseUrl: string,
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly log: Logger,
  ) {
    this.listener = new PgListener({
      databaseUrl,
      // A row queued in the outbox (sql/0037): not every account event, most of which no endpoint wants.
      channel: 'wa_webhook_outbox',
      onNotification: () => this.wake(),
      // Notifications sent while the listener was away are lost: what they told of waits in the table.
      onReconnected: () => this.wake(),
      log,
    });
  }

  async start(): Promise<void> {
    await this.listener.start();
    this.timer = setInterval(() => this.wake(), SWEEP_EVERY_MS);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.listener.stop();
    await this.running;
  }

  /** Runs rounds until the outbox is empty; a wake during a round asks for one more, never a second runner. */
  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        const round = await dispatchQueuedEvents(this.pool, ROUND_SIZE, this.taskQueue, (routes) =>
          this.startDeliveries(routes),
        );
        // A full round may have left more behind; a round with failed starts waits for the sweep.
        if (round.dispatched === ROUND_SIZE && round.leftQueued === 0) this.again = true;
      } catch (error) {
        this.log.warn({ err: String(error) }, 'webhook outbox round failed; the next one tries again');
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async startDeliveries(routes: readonly WebhookRoute[]): Promise<ReadonlySet<WebhookRoute>> {
    const started = new Set<WebhookRoute>();
    let failures = 0;
    const queue = [...routes];
    const startNext = async (): Promise<void> => {
      for (let route = queue.shift(); route !== undefined; route = queue.shift()) {
        const { event_id: eventId, endpoint_id: endpointId } = route;
        try {
          await this.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
            this.client.workflow.start(webhookDelivery, {
              taskQueue: this.taskQueue,
              workflowId: firstDeliveryId(eventId, endpointId),
              args: [{ eventId, endpointId, kind: 'delivery' }],
              // A delivery that ended is not started again: an event goes out once, however often it is queued.
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
            }),
          );
          started.add(route);
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) started.add(route);
          else if (failures++ === 0) {
            this.log.warn({ eventId, endpointId, err: String(error) }, 'a webhook delivery did not start');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_STARTS, routes.length) }, startNext));
    return started;
  }
}

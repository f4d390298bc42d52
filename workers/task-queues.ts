import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Every worker process listens on the shared queue (workflows and activities any host can run) and on a queue of
 * its own: only activities on that host queue touch this process's WhatsApp clients (worker-specific task queues).
 * The boot id makes a restarted process a new host, so nothing is routed to a client that died with the old one.
 */
export function hostTaskQueueName(bootId: string = randomUUID()): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 60);
  return `wa-host-${host}-${bootId}`;
}

import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { accountEventSchema, type AccountEvent } from './account-events.js';
import { EVENTS_NOT_SENT_AS_WEBHOOKS } from '../domain/webhook-events.js';
import { accountRowSchema, type AccountRow } from './account-row.js';
import { webhookSecrets } from './webhook-secrets.js';
import type { Keyring } from '../lib/keyring.js';

export interface WebhookTarget {
  event: AccountEvent;
  account: AccountRow;
  url: string;
  /** The current signing secret first, then the previous one while its grace period lasts. */
  secrets: string[];
}

/** Where an event goes: the account's own webhook URL, else its workspace's default; null when neither is set. */
export async function findWebhookTarget(
  db: CommonQueryMethods,
  keyring: Keyring,
  eventId: number,
): Promise<WebhookTarget | null> {
  const event = await db.maybeOne(sql.type(accountEventSchema)`SELECT * FROM account_events WHERE id = ${eventId}`);
  if (!event) return null;
  const account = await db.one(
    sql.type(accountRowSchema)`SELECT * FROM whatsapp_accounts WHERE id = ${event.account_id}`,
  );
  const workspaceUrl = await db.maybeOne(
    sql.type(
      z.object({ webhook_url: z.string().nullable() }),
    )`SELECT webhook_url FROM workspaces WHERE id = ${event.workspace_id}`,
  );
  const url = account.webhook_url ?? workspaceUrl?.webhook_url ?? null;
  if (!url || !workspaceUrl) return null;
  const secrets = await webhookSecrets(db, keyring, event.workspace_id);
  if (!secrets) return null;
  return { event, account, url, secrets: [secrets.current, ...(secrets.previous ? [secrets.previous] : [])] };
}

/** Of these events, the ones whose account has a webhook URL (its own or its workspace's). */
export async function eventsWithWebhookTargets(
  db: CommonQueryMethods,
  eventIds: readonly number[],
): Promise<readonly number[]> {
  if (eventIds.length === 0) return [];
  return db.anyFirst(sql.type(z.object({ id: z.number().int() }))`
    SELECT e.id FROM account_events e
    JOIN whatsapp_accounts a ON a.id = e.account_id
    LEFT JOIN workspaces w ON w.id = e.workspace_id
    WHERE e.id = ANY(${sql.array([...eventIds], 'int8')}) AND w.id IS NOT NULL AND COALESCE(a.webhook_url, w.webhook_url) IS NOT NULL
      AND e.type <> ALL(${sql.array([...EVENTS_NOT_SENT_AS_WEBHOOKS], 'text')})
    ORDER BY e.id
  `);
}

export interface DeliveryAttempt {
  eventId: number;
  workspaceId: string;
  sessionId: string;
  url: string;
  attempt: number;
  delivered: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export async function recordDeliveryAttempt(db: CommonQueryMethods, attempt: DeliveryAttempt): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO webhook_deliveries (event_id, workspace_id, session_id, url, attempt, delivered, status_code, latency_ms, error)
    VALUES (${attempt.eventId}, ${attempt.workspaceId}, ${attempt.sessionId}, ${attempt.url}, ${attempt.attempt}, ${attempt.delivered},
            ${attempt.statusCode}, ${attempt.latencyMs}, ${attempt.error})
    ON CONFLICT (event_id, attempt) DO NOTHING
  `);
}

export const deliveryRowSchema = z.object({
  id: z.number().int(),
  event_id: z.number().int(),
  url: z.string(),
  attempt: z.number().int(),
  delivered: z.boolean(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  attempted_at: z.number(),
});
export type DeliveryRow = z.infer<typeof deliveryRowSchema>;

export async function listDeliveries(
  db: CommonQueryMethods,
  workspaceId: string,
  sessionId: string,
  limit: number,
): Promise<readonly DeliveryRow[]> {
  return db.any(sql.type(deliveryRowSchema)`
    SELECT id, event_id, url, attempt, delivered, status_code, latency_ms, error, attempted_at
    FROM webhook_deliveries WHERE workspace_id = ${workspaceId} AND session_id = ${sessionId}
    ORDER BY id DESC LIMIT ${limit}
  `);
}

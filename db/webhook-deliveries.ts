import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { accountEventSchema, type AccountEvent } from './account-events.js';
import { EVENTS_NOT_SENT_AS_WEBHOOKS } from '../domain/webhook-events.js';
import { accountRowSchema, type AccountRow } from './account-row.js';
import { endpointSecrets, findWebhookEndpoint, type WebhookEndpointRow } from './webhook-endpoints.js';
import type { Keyring } from '../lib/keyring.js';

export interface WebhookTarget {
  event: AccountEvent;
  account: AccountRow;
  endpoint: WebhookEndpointRow;
  /** The current signing secret first, then the previous one while its grace period lasts. */
  secrets: string[];
}

/** What a delivery of this event to this endpoint needs; null when the event or the endpoint is gone. */
export async function findWebhookTarget(
  db: CommonQueryMethods,
  keyring: Keyring,
  eventId: number,
  endpointId: string,
): Promise<WebhookTarget | null> {
  const event = await db.maybeOne(sql.type(accountEventSchema)`SELECT * FROM account_events WHERE id = ${eventId}`);
  if (!event) return null;
  const endpoint = await findWebhookEndpoint(db, event.workspace_id, endpointId);
  if (!endpoint) return null;
  const account = await db.one(
    sql.type(accountRowSchema)`SELECT * FROM whatsapp_accounts WHERE id = ${event.account_id}`,
  );
  const secrets = await endpointSecrets(db, keyring, endpoint);
  if (!secrets) return null;
  return { event, account, endpoint, secrets: [secrets.current, ...(secrets.previous ? [secrets.previous] : [])] };
}

/**
 * The endpoints an event goes to: the workspace's, and the account's own, that want its type; the workspace's
 * webhook URL setting is replaced by the account's own URL setting where the account has one. Disabled endpoints are
 * left out, except those the service disabled for failing: their missed events are recorded (`send` false), so a
 * resend of the failed deliveries brings them.
 */
const routeSchema = z.object({ event_id: z.number().int(), endpoint_id: z.string(), send: z.boolean() });
export type WebhookRoute = z.infer<typeof routeSchema>;

export async function webhookRoutes(
  db: CommonQueryMethods,
  eventIds: readonly number[],
): Promise<readonly WebhookRoute[]> {
  if (eventIds.length === 0) return [];
  return db.any(sql.type(routeSchema)`
    SELECT e.id AS event_id, p.id AS endpoint_id, p.enabled AS send
    FROM account_events e
    JOIN webhook_endpoints p ON p.workspace_id = e.workspace_id
      AND (p.account_id IS NULL OR p.account_id = e.account_id)
      AND (p.event_types IS NULL OR e.type = ANY(p.event_types))
    WHERE e.id = ANY(${sql.array([...eventIds], 'int8')})
      AND e.type <> ALL(${sql.array([...EVENTS_NOT_SENT_AS_WEBHOOKS], 'text')})
      AND (p.enabled OR p.disabled_reason = 'failing')
      AND NOT (p.setting = 'workspace_webhook' AND EXISTS (
        SELECT 1 FROM webhook_endpoints o WHERE o.account_id = e.account_id AND o.setting = 'account_webhook'))
    ORDER BY e.id, p.id
  `);
}

/** A delivery's id: its workflow's. The first delivery of an event to an endpoint has one id, so it starts once. */
export function firstDeliveryId(eventId: number, endpointId: string): string {
  return `webhook-${eventId}-${endpointId}`;
}

export type DeliveryKind = 'delivery' | 'redelivery' | 'replay';

export interface DeliveryAttempt {
  deliveryId: string;
  kind: DeliveryKind;
  eventId: number;
  eventType: string;
  endpointId: string;
  workspaceId: string;
  sessionId: string;
  url: string;
  /** 0: not sent, the endpoint being disabled for failing. */
  attempt: number;
  delivered: boolean;
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
}

export async function recordDeliveryAttempt(db: CommonQueryMethods, attempt: DeliveryAttempt): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO webhook_deliveries (delivery_id, kind, event_id, event_type, endpoint_id, workspace_id, session_id, url,
                                    attempt, delivered, status_code, latency_ms, error)
    VALUES (${attempt.deliveryId}, ${attempt.kind}, ${attempt.eventId}, ${attempt.eventType}, ${attempt.endpointId},
            ${attempt.workspaceId}, ${attempt.sessionId}, ${attempt.url}, ${attempt.attempt}, ${attempt.delivered},
            ${attempt.statusCode}, ${attempt.latencyMs}, ${attempt.error})
    ON CONFLICT (delivery_id, attempt) DO NOTHING
  `);
}

/** Records, for each route not sent, that its endpoint was disabled: what a resend of failed deliveries picks up. */
export async function recordMissedDeliveries(db: CommonQueryMethods, routes: readonly WebhookRoute[]): Promise<void> {
  const missed = routes.filter((route) => !route.send);
  if (missed.length === 0) return;
  await db.query(sql.unsafe`
    INSERT INTO webhook_deliveries (delivery_id, kind, event_id, event_type, endpoint_id, workspace_id, session_id, url,
                                    attempt, delivered, error)
    SELECT 'webhook-' || e.id || '-' || p.id, 'delivery', e.id, e.type, p.id, e.workspace_id, e.session_id, p.url, 0,
           false, 'not sent: the endpoint is disabled after failing since ' || p.failing_since
    FROM unnest(${sql.array(
      missed.map((route) => route.event_id),
      'int8',
    )}::int8[], ${sql.array(
      missed.map((route) => route.endpoint_id),
      'text',
    )}::text[]) AS m(event_id, endpoint_id)
    JOIN account_events e ON e.id = m.event_id
    JOIN webhook_endpoints p ON p.id = m.endpoint_id
    ON CONFLICT (delivery_id, attempt) DO NOTHING
  `);
}

export const deliveryRowSchema = z.object({
  id: z.number().int(),
  delivery_id: z.string(),
  kind: z.enum(['delivery', 'redelivery', 'replay']),
  event_id: z.number().int(),
  event_type: z.string(),
  endpoint_id: z.string().nullable(),
  session_id: z.string(),
  url: z.string(),
  attempt: z.number().int(),
  delivered: z.boolean(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  attempted_at: z.number(),
});
export type DeliveryRow = z.infer<typeof deliveryRowSchema>;

export interface DeliveryFilter {
  workspaceId: string;
  sessionId?: string;
  endpointId?: string;
  eventType?: string;
  outcome?: 'delivered' | 'failed';
  kind?: DeliveryKind;
  since?: Date;
  until?: Date;
  beforeId?: number;
  limit: number;
}

/** Delivery attempts, newest first, filtered. */
export async function listDeliveries(db: CommonQueryMethods, filter: DeliveryFilter): Promise<readonly DeliveryRow[]> {
  const conditions = [
    sql.fragment`workspace_id = ${filter.workspaceId}`,
    ...(filter.sessionId !== undefined ? [sql.fragment`session_id = ${filter.sessionId}`] : []),
    ...(filter.endpointId !== undefined ? [sql.fragment`endpoint_id = ${filter.endpointId}`] : []),
    ...(filter.eventType !== undefined ? [sql.fragment`event_type = ${filter.eventType}`] : []),
    ...(filter.outcome !== undefined ? [sql.fragment`delivered = ${filter.outcome === 'delivered'}`] : []),
    ...(filter.kind !== undefined ? [sql.fragment`kind = ${filter.kind}`] : []),
    ...(filter.since !== undefined ? [sql.fragment`attempted_at >= ${filter.since.toISOString()}`] : []),
    ...(filter.until !== undefined ? [sql.fragment`attempted_at < ${filter.until.toISOString()}`] : []),
    ...(filter.beforeId !== undefined ? [sql.fragment`id < ${filter.beforeId}`] : []),
  ];
  return db.any(sql.type(deliveryRowSchema)`
    SELECT id, delivery_id, kind, event_id, event_type, endpoint_id, session_id, url, attempt, delivered, status_code,
           latency_ms, error, attempted_at
    FROM webhook_deliveries WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY id DESC LIMIT ${filter.limit}
  `);
}

/** One delivery's event and endpoint, found by the delivery's id within the workspace. */
export async function findDelivery(
  db: CommonQueryMethods,
  workspaceId: string,
  deliveryId: string,
): Promise<{ eventId: number; endpointId: string } | null> {
  const row = await db.maybeOne(sql.type(z.object({ event_id: z.number().int(), endpoint_id: z.string() }))`
    SELECT event_id, endpoint_id FROM webhook_deliveries
    WHERE workspace_id = ${workspaceId} AND delivery_id = ${deliveryId} AND endpoint_id IS NOT NULL
    LIMIT 1
  `);
  return row ? { eventId: row.event_id, endpointId: row.endpoint_id } : null;
}

/**
 * The events an endpoint has not received that a resend brings, oldest first: those with an attempt to it since
 * `since` and no successful one, after `afterEventId` (how a resend resumes).
 */
export async function failedEventIds(
  db: CommonQueryMethods,
  query: { endpointId: string; since: Date; afterEventId: number; limit: number },
): Promise<readonly number[]> {
  return db.anyFirst(sql.type(z.object({ event_id: z.number().int() }))`
    SELECT event_id FROM webhook_deliveries
    WHERE endpoint_id = ${query.endpointId} AND event_id > ${query.afterEventId}
      AND event_id IN (SELECT event_id FROM webhook_deliveries
                       WHERE endpoint_id = ${query.endpointId} AND attempted_at >= ${query.since.toISOString()})
    GROUP BY event_id HAVING NOT bool_or(delivered)
    ORDER BY event_id LIMIT ${query.limit}
  `);
}

/**
 * The events a replay to an endpoint sends, oldest first: every event of its workspace (of one account, when the
 * endpoint is an account's or the replay names one) after `afterEventId`, of the types the endpoint wants.
 */
export async function replayEventIds(
  db: CommonQueryMethods,
  query: { endpointId: string; accountId: number | null; afterEventId: number; limit: number },
): Promise<readonly number[]> {
  const account = query.accountId === null ? sql.fragment`` : sql.fragment`AND e.account_id = ${query.accountId}`;
  return db.anyFirst(sql.type(z.object({ id: z.number().int() }))`
    SELECT e.id FROM webhook_endpoints p
    JOIN account_events e ON e.workspace_id = p.workspace_id
      AND (p.account_id IS NULL OR e.account_id = p.account_id)
      AND (p.event_types IS NULL OR e.type = ANY(p.event_types))
    WHERE p.id = ${query.endpointId} AND e.id > ${query.afterEventId} ${account}
      AND e.type <> ALL(${sql.array([...EVENTS_NOT_SENT_AS_WEBHOOKS], 'text')})
    ORDER BY e.id LIMIT ${query.limit}
  `);
}

/** How many events a resend of an endpoint's failed deliveries since `since` would send. */
export async function countFailedEvents(
  db: CommonQueryMethods,
  query: { endpointId: string; since: Date },
): Promise<number> {
  return db.oneFirst(sql.type(z.object({ count: z.number() }))`
    SELECT count(*)::int AS count FROM (
      SELECT event_id FROM webhook_deliveries
      WHERE endpoint_id = ${query.endpointId}
        AND event_id IN (SELECT event_id FROM webhook_deliveries
                         WHERE endpoint_id = ${query.endpointId} AND attempted_at >= ${query.since.toISOString()})
      GROUP BY event_id HAVING NOT bool_or(delivered)
    ) failed
  `);
}

/** How many events a replay to an endpoint after `afterEventId` would send. */
export async function countReplayEvents(
  db: CommonQueryMethods,
  query: { endpointId: string; accountId: number | null; afterEventId: number },
): Promise<number> {
  const account = query.accountId === null ? sql.fragment`` : sql.fragment`AND e.account_id = ${query.accountId}`;
  return db.oneFirst(sql.type(z.object({ count: z.number() }))`
    SELECT count(*)::int AS count FROM webhook_endpoints p
    JOIN account_events e ON e.workspace_id = p.workspace_id
      AND (p.account_id IS NULL OR e.account_id = p.account_id)
      AND (p.event_types IS NULL OR e.type = ANY(p.event_types))
    WHERE p.id = ${query.endpointId} AND e.id > ${query.afterEventId} ${account}
      AND e.type <> ALL(${sql.array([...EVENTS_NOT_SENT_AS_WEBHOOKS], 'text')})
  `);
}

/** A resend's progress: events it delivered, and the last one. */
export async function resendProgress(
  db: CommonQueryMethods,
  workspaceId: string,
  resendId: string,
): Promise<{ delivered: number; lastEventId: number | null }> {
  const row = await db.one(sql.type(z.object({ delivered: z.number(), last_event_id: z.number().nullable() }))`
    SELECT count(DISTINCT event_id) FILTER (WHERE delivered)::int AS delivered,
           max(event_id) FILTER (WHERE delivered) AS last_event_id
    FROM webhook_deliveries
    WHERE workspace_id = ${workspaceId} AND starts_with(delivery_id, ${`${resendId}-`})
  `);
  return { delivered: row.delivered, lastEventId: row.last_event_id };
}

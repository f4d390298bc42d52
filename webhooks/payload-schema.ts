import { Type, type Static, type TSchema } from 'typebox';
import { ACCOUNT_EVENTS, WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../domain/account-event-types.js';
import { ACCOUNT_STATUSES, type AccountStatus } from '../domain/account-status.js';
import { Nullable, OpenObject, StringEnum } from '../lib/json-schema.js';

/** Every event's data may grow new fields: receivers ignore what they do not know. */
const open = { additionalProperties: true } as const;
const withReason = Type.Object({ reason: Type.String({ description: 'why, as a code (see docs/api.md)' }) }, open);

/** What `data` holds for each event a backend is sent. */
const DATA: Record<WebhookEventType, TSchema> = {
  session_created: Type.Object({}, open),
  authenticated: Type.Object({}, open),
  session_ready: Type.Object(
    {
      phoneNumber: Nullable(Type.String()),
      pushName: Nullable(Type.String()),
      whatsappId: Type.Optional(Type.String({ description: "The account's WhatsApp id, <phone number>@c.us" })),
      lid: Type.Optional(
        Nullable(Type.String({ description: 'The internal id newer accounts also carry, <digits>@lid' })),
      ),
      platform: Type.Optional(
        Nullable(Type.String({ description: 'What the phone runs: android, iphone, smba (Business on Android), …' })),
      ),
      isPrimary: Type.Boolean(),
      scanToConnectedMs: Type.Optional(Type.Integer()),
      phoneExtractionMs: Type.Optional(Type.Integer()),
      replacedSessionIds: Type.Optional(
        Type.Array(Type.String(), { description: 'older accounts of the same phone this one replaced' }),
      ),
    },
    open,
  ),
  disconnected: Type.Object({ reason: Type.Optional(Type.String()) }, open),
  session_failed: withReason,
  logged_out: withReason,
  session_deleted: withReason,
  account_replaced: Type.Object(
    { reason: Type.String(), replacedBySessionId: Type.String(), causedBy: Type.Optional(Type.String()) },
    open,
  ),
  primary_changed: Type.Object(
    {
      isPrimary: Type.Boolean(),
      previousPrimarySessionId: Type.Optional(Nullable(Type.String())),
      newPrimarySessionId: Type.Optional(Type.String()),
      causedBy: Type.Optional(Type.String()),
    },
    open,
  ),
};

/** The fields every payload has, whatever its event. */
function envelope(event: TSchema, data: TSchema, description?: string) {
  return Type.Object(
    {
      event,
      eventId: Type.Integer({
        description: 'increases with every event; the Standard Webhooks webhook-id is evt_<eventId>',
      }),
      sessionId: Type.String(),
      workspaceId: Type.String(),
      status: Type.Unsafe<AccountStatus | null>({ type: ['string', 'null'], enum: [...ACCOUNT_STATUSES, null] }),
      phoneNumber: Nullable(Type.String()),
      isPrimary: Type.Boolean(),
      occurredAt: Type.String({ format: 'date-time' }),
      data,
      metadata: OpenObject({ description: 'what the backend gave the account when it created it' }),
    },
    { additionalProperties: false, ...(description ? { description } : {}) },
  );
}

/** The JSON a backend receives, of any event: what the service builds (webhooks/payload.ts). */
export const WebhookPayloadEnvelope = envelope(StringEnum(WEBHOOK_EVENT_TYPES), OpenObject());
export type WebhookPayload = Static<typeof WebhookPayloadEnvelope>;

/**
 * The same, one shape per event, for receivers to type their handlers with: published in the OpenAPI document as
 * `WebhookPayload` (and so in the generated client).
 */
export const WebhookPayloadSchema = Type.Union(
  WEBHOOK_EVENT_TYPES.map((type) => envelope(StringEnum([type]), DATA[type], ACCOUNT_EVENTS[type].description)),
  { $id: 'WebhookPayload', description: 'The JSON body of every webhook, by event (`event`).' },
);

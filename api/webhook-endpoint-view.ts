import { Type, type Static, type TUnsafe } from 'typebox';
import { WEBHOOK_EVENT_TYPES } from '../domain/account-event-types.js';
import type { WebhookEndpointRow } from '../db/webhook-endpoints.js';
import { Nullable, sessionIdSchema, StringEnum, webhookUrlSchema } from './schemas.js';

/** An endpoint's id as the service issues it. */
export const endpointIdSchema = Type.String({ pattern: '^we_[0-9a-f]{24}$', description: 'we_ and 24 hex digits' });

export const WebhookEventTypes = Type.Array(StringEnum(WEBHOOK_EVENT_TYPES), {
  minItems: 1,
  maxItems: 50,
  uniqueItems: true,
  description: 'The event types the endpoint is sent; left out or null: every type sent as a webhook',
});

const descriptionSchema = Type.String({
  maxLength: 500,
  // What PostgreSQL cannot store (NUL) and what a console cannot show.
  pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*$',
  description: 'What the endpoint is for, for people; at most 500 characters, no control characters',
});

export const CreateWebhookEndpointBody = Type.Object(
  {
    url: webhookUrlSchema,
    eventTypes: Type.Optional(Nullable(WebhookEventTypes)),
    description: Type.Optional(descriptionSchema),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    sessionId: Type.Optional(sessionIdSchema),
  },
  { additionalProperties: false },
);

export const UpdateWebhookEndpointBody = Type.Object(
  {
    url: Type.Optional(webhookUrlSchema),
    eventTypes: Type.Optional(Nullable(WebhookEventTypes)),
    description: Type.Optional(descriptionSchema),
    enabled: Type.Optional(Type.Boolean()),
    rotateSecret: Type.Optional(
      Type.Boolean({ description: 'Issue a new signing secret; the current one still signs beside it for 24 h' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const dateTime = Type.String({ format: 'date-time' });

function NullableEnum<const T extends readonly string[]>(values: T, description: string): TUnsafe<T[number] | null> {
  return Type.Unsafe<T[number] | null>({ type: ['string', 'null'], enum: [...values, null], description });
}

const endpointProperties = {
  id: Type.String(),
  workspaceId: Type.String(),
  sessionId: Nullable(Type.String({ description: "The account's session id when the endpoint is an account's own" })),
  setting: NullableEnum(
    ['workspace_webhook', 'account_webhook'],
    "Set through the single-URL settings (PUT .../webhook): the workspace's webhook URL, or an account's own, which replaces the workspace's for that account; both sign with the workspace's secret",
  ),
  url: Type.String(),
  eventTypes: Nullable(Type.Array(Type.String())),
  description: Type.String(),
  enabled: Type.Boolean(),
  disabledReason: NullableEnum(
    ['failing', 'api'],
    'failing: the service disabled it after every attempt failed for 3 days; api: a user did',
  ),
  disabledAt: Nullable(dateTime),
  failingSince: Nullable(
    Type.String({ format: 'date-time', description: 'Since when every attempt to it has failed' }),
  ),
  createdAt: dateTime,
  updatedAt: dateTime,
};

export const WebhookEndpointView = Type.Object(endpointProperties, { additionalProperties: false });
export type WebhookEndpointView = Static<typeof WebhookEndpointView>;

export const WebhookEndpointWithSecret = Type.Object(
  {
    ...endpointProperties,
    signingSecret: Type.String({ description: 'The secret its deliveries are signed with (webhook-signature)' }),
    missed: Type.Optional(
      Type.Object(
        {
          since: dateTime,
          failedEvents: Type.Integer(),
          resend: Type.String({ description: 'What to POST to resend them: this path with {"failedSince": since}' }),
        },
        {
          additionalProperties: false,
          description: 'When enabling an endpoint the service disabled: what it missed, and how to resend it',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toEndpointView(row: WebhookEndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    sessionId: row.session_id,
    setting: row.setting,
    url: row.url,
    eventTypes: row.event_types,
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    disabledAt: iso(row.disabled_at),
    failingSince: iso(row.failing_since),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

import { Type, type Static, type TObject, type TSchema, type TUnsafe } from 'typebox';
import { PHONE_NUMBER_PATTERN } from '../domain/phone-number.js';

/**
 * Each body, parameter and view is one TypeBox schema: Fastify validates and serializes with it, @fastify/swagger
 * publishes it, and handlers are typed from it (Static). The spelling helpers are shared with the webhook payload's
 * schema (lib/json-schema.ts).
 */

import { Nullable } from '../lib/json-schema.js';

export { Nullable, OpenObject, StringEnum } from '../lib/json-schema.js';

/**
 * A query whose parameters with a default may be left out: the validator fills each in, so handlers always see a
 * value. TypeBox would list them as required, which tells clients (and the generated one) to always send them.
 */
export function QueryWithDefaults<T extends TObject>(schema: T): TUnsafe<Static<T>> {
  const properties: Record<string, { default?: unknown }> = schema.properties;
  const required = (schema.required ?? []).filter((key) => properties[key]?.default === undefined);
  const { required: _listed, ...rest } = schema;
  return Type.Unsafe<Static<T>>(required.length > 0 ? { ...rest, required } : rest);
}

/** A reference to a schema the app registered once (app.addSchema), typed as that schema. */
export function Ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  const id: unknown = (schema as { $id?: unknown }).$id;
  if (typeof id !== 'string') throw new TypeError('only a schema with an $id can be referenced');
  return Type.Unsafe<Static<T>>({ $ref: `${id}#` });
}

/** Path and body fragments shared by several routes; the database enforces the same shapes. */
export const SESSION_ID_PATTERN = '^[A-Za-z0-9_-]{1,100}$';
export const WORKSPACE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/**
 * A row id, or a position in a log, as a client sends it. The database holds it as a bigint, so an unbounded integer
 * would reach it and fail there; past 2^53 − 1 (the largest a JSON number keeps exactly) it is a validation problem.
 */
export function rowIdSchema(minimum: 0 | 1, description?: string) {
  return Type.Integer({
    minimum,
    maximum: Number.MAX_SAFE_INTEGER,
    ...(description === undefined ? {} : { description }),
  });
}

export const sessionIdSchema = Type.String({
  pattern: SESSION_ID_PATTERN,
  description: 'letters, digits, _ and -, at most 100',
});
export const workspaceIdSchema = Type.String({
  pattern: WORKSPACE_ID_PATTERN,
  description: 'letters, digits, _ and -, at most 64',
});
export const phoneNumberSchema = Type.String({
  pattern: PHONE_NUMBER_PATTERN,
  description: 'E.164 digits without +, e.g. 62811801641',
});
export const webhookUrlSchema = Type.String({
  pattern: '^https?://[^\\s\\u0000-\\u001f\\u007f]+$',
  maxLength: 2048,
  description: 'http(s) URL that receives signed event POSTs',
});

export const WorkspaceParams = Type.Object({ workspaceId: workspaceIdSchema }, { additionalProperties: false });
export type WorkspaceParams = Static<typeof WorkspaceParams>;

export const AccountParams = Type.Object(
  { workspaceId: workspaceIdSchema, sessionId: sessionIdSchema },
  { additionalProperties: false },
);
export type AccountParams = Static<typeof AccountParams>;

/** What a route answers for a refused request (api/problem.ts registers the schema). */
export const problemResponses = { '4xx': { $ref: 'ProblemDetails#' } } as const;

/** A command the account's workflow took; what it does shows in the account's status and events. */
export const CommandAccepted = Type.Object(
  { accepted: Type.Boolean(), sessionId: Type.String() },
  { additionalProperties: false },
);

/** A name the phone shows for a linked device: printable, at most 50 characters (the database checks it too). */
const deviceNameSchema = Type.String({
  minLength: 1,
  maxLength: 50,
  pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]+$',
});

/** What a client announces to the phone (shown under "Linked devices"); null: the default. */
export const LinkedDeviceNames = Type.Object(
  {
    deviceName: Nullable(Type.String({ ...deviceNameSchema, description: 'e.g. the shop or the till' })),
    browserName: Nullable(Type.String({ ...deviceNameSchema, description: 'e.g. Chrome, Firefox' })),
  },
  { additionalProperties: false },
);

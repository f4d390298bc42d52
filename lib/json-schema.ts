import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';

/**
 * JSON Schema helpers shared by the API's schemas and the webhook payload's: they write the JSON Schema the service
 * has always published (`type: ['string', 'null']`, `type: 'string'` beside `enum`), which TypeBox's own unions and
 * enums would spell differently, so the OpenAPI document and its generated client stay as they are.
 */

/** The schema as it is, or null. */
export function Nullable<T extends TSchema & { type: string }>(schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/** One of a fixed list of strings. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { default?: T[number]; description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A JSON object whose keys are the caller's own (metadata). */
export function OpenObject(
  options: { maxProperties?: number; description?: string } = {},
): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', ...options, additionalProperties: true });
}

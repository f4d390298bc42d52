import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifySchema } from 'fastify';
import type { FastifyRouteSchemaDef, FastifyValidationResult } from 'fastify/types/schema.js';

const buildValidatorFromPool = AjvCompiler();
type Compile = (route: FastifyRouteSchemaDef<FastifySchema>) => FastifyValidationResult;

/**
 * Fastify's validator compiler, strict for bodies: a JSON body states its own types, so "5" is not a number there
 * and is refused, not coerced. Query strings and paths are text by nature and are coerced to the types their
 * schemas declare (the app's `coerceTypes`).
 */
export function bodyStrictValidator(
  ...[externalSchemas, options]: Parameters<typeof buildValidatorFromPool>
): ReturnType<typeof buildValidatorFromPool> {
  const coercing = buildValidatorFromPool(externalSchemas, options) as unknown as Compile;
  const strict = buildValidatorFromPool(externalSchemas, {
    ...options,
    customOptions: { ...options?.customOptions, coerceTypes: false },
  } as Parameters<typeof buildValidatorFromPool>[1]) as unknown as Compile;
  return ((route: FastifyRouteSchemaDef<FastifySchema>) =>
    route.httpPart === 'body' ? strict(route) : coercing(route)) as unknown as ReturnType<
    typeof buildValidatorFromPool
  >;
}

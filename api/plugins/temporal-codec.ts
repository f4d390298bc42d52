import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { isEncryptedPayload } from '../../lib/payload-encryption.js';
import { assertOperator } from './auth.js';

/** A payload as Temporal's remote codec protocol carries it: proto3 JSON, bytes in base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const payloadsSchema = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
          data: { type: 'string' },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

const fromJson = (payload: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
  ),
  data: Buffer.from(payload.data ?? '', 'base64'),
});

const toJson = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? []).toString('base64'),
});

/**
 * Temporal's remote codec endpoint, for operators: `temporal workflow show --codec-endpoint
 * <api>/v1/admin/temporal-codec --codec-auth "Bearer <admin key>"` shows an account's history in clear. Decode only
 * (nothing here helps write a payload), admin keys only: a workspace key gets the 404 of a route that does not exist.
 * The Web UI the API serves (api/plugins/operator-console.ts) calls it from the operator's logged-in browser.
 * A payload the service did not encrypt (the server's own bookkeeping) comes back as it came; one it encrypted under a
 * key the API no longer holds, or that fails authentication, comes back as the codec's marker, which says so.
 */
export default async function temporalCodecPlugin(app: FastifyInstance, options: { codecs: readonly PayloadCodec[] }) {
  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/v1/admin/temporal-codec/decode',
    {
      bodyLimit: 8 * 1024 * 1024,
      // Decoding reads: nothing changes.
      config: { auth: 'operator', audit: false },
      schema: {
        summary: "Temporal's remote codec: decode payloads for the CLI or the Web UI (admin keys only)",
        tags: ['admin'],
        body: payloadsSchema,
        response: { 200: payloadsSchema, '4xx': { $ref: 'ProblemDetails#' } },
      },
    },
    async (request) => {
      assertOperator(request);
      const decoded = await Promise.all(
        request.body.payloads.map(async (payload) => {
          const received = fromJson(payload);
          if (!isEncryptedPayload(received)) return payload;
          let current: Payload[] = [received];
          try {
            for (const codec of [...options.codecs].reverse()) current = await codec.decode(current);
          } catch {
            return payload;
          }
          return current[0] ? toJson(current[0]) : payload;
        }),
      );
      return { payloads: decoded };
    },
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { accountFor } from '../account-access.js';
import type { WorkspaceServices } from '../workspace-services.js';
import { requestPairingCode } from '../pairing-code-request.js';
import { qrDataUrl, qrPng } from '../qr-image.js';
import { toAccountView } from '../account-view.js';
import { HttpProblem, problem } from '../problem.js';
import { AccountParams, phoneNumberSchema, problemResponses, QueryWithDefaults, StringEnum } from '../schemas.js';

const QrQuery = QueryWithDefaults(
  Type.Object({ format: StringEnum(['raw', 'png', 'data_url'], { default: 'raw' }) }, { additionalProperties: false }),
);

const QrView = Type.Object(
  { qr: Type.String(), dataUrl: Type.Optional(Type.String()), generatedAt: Type.String({ format: 'date-time' }) },
  { additionalProperties: false },
);

const PairingCodeBody = Type.Object({ phoneNumber: phoneNumberSchema }, { additionalProperties: false });
const PairingCodeView = Type.Object({ code: Type.String() }, { additionalProperties: false });

/** Linking a device: the QR to scan, or a pairing code to type on the phone instead. */
export default async function accountLoginPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal } = options;

  app.get(
    '/accounts/:sessionId/qr',
    {
      schema: {
        summary:
          'The current QR: its raw string, a PNG, or a data URL for an <img>; 404 qr_not_available while there is none',
        tags: ['accounts'],
        params: AccountParams,
        querystring: QrQuery,
        response: { 200: QrView, ...problemResponses },
      },
    },
    async (request, reply) => {
      const view = toAccountView(await accountFor(pool, request.params));
      if (!view.qr) {
        throw new HttpProblem(
          problem(
            404,
            'qr_not_available',
            'Not Found',
            `no QR to show: the account is ${view.status}${view.status === 'qr_scanning' ? ' and WhatsApp has not offered one yet' : ''}`,
          ),
        );
      }
      // A QR rotates every ~20 s: nobody should cache it.
      void reply.header('cache-control', 'no-store');
      if (request.query.format === 'png') {
        return reply.type('image/png').send(await qrPng(view.qr.value));
      }
      if (request.query.format === 'data_url') {
        return {
          qr: view.qr.value,
          dataUrl: await qrDataUrl(view.qr.value),
          generatedAt: view.qr.generatedAt,
        };
      }
      return { qr: view.qr.value, generatedAt: view.qr.generatedAt };
    },
  );

  app.post(
    '/accounts/:sessionId/pairing-code',
    {
      schema: {
        summary: 'Switch a not-yet-linked account to pairing-code login: returns the code to type on the phone',
        tags: ['accounts'],
        params: AccountParams,
        body: PairingCodeBody,
        response: { 200: PairingCodeView, ...problemResponses, 503: { $ref: 'ProblemDetails#' } },
      },
    },
    async (request, reply) =>
      requestPairingCode(temporal, await accountFor(pool, request.params), request.body.phoneNumber, reply),
  );
}

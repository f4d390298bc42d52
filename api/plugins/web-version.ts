import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { WEB_VERSION_PATTERN } from '../../domain/web-version.js';
import { findAccountBySession } from '../../db/accounts.js';
import { setAccountWebVersionPin } from '../../db/web-version-pins.js';
import { Type } from 'typebox';
import { accountFor, accountNotFound } from '../account-access.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { AccountParams, Nullable, problemResponses } from '../schemas.js';

const WebVersionPinBody = Type.Object(
  { version: Nullable(Type.String({ pattern: WEB_VERSION_PATTERN })) },
  { additionalProperties: false },
);

/**
 * Which WhatsApp Web build an account's client loads. A pin outlives restarts and moves between hosts with the row;
 * it takes effect at the session's next start (POST .../restart applies it now, from the saved login, no scan).
 */
export default async function webVersionPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool } = options;

  app.put(
    '/accounts/:sessionId/web-version',
    {
      schema: {
        summary:
          "Pin the WhatsApp Web build this account's client loads (null: the service's pin, or WhatsApp's current build); applied at its next start",
        tags: ['accounts'],
        params: AccountParams,
        body: WebVersionPinBody,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      await setAccountWebVersionPin(pool, row.id, request.body.version);
      const pinned = await findAccountBySession(pool, row.workspace_id, row.session_id);
      if (!pinned || pinned.deleted_at !== null) throw accountNotFound(request.params);
      return toAccountView(pinned);
    },
  );
}

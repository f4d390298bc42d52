import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { WEB_VERSION_PATTERN } from '../../config/env.js';
import { findAccountBySession } from '../../db/accounts.js';
import { setAccountWebVersionPin } from '../../db/web-version-pins.js';
import { accountFor, accountNotFound, type AccountParams } from '../account-access.js';
import { toAccountView } from '../account-view.js';
import { accountParams } from './accounts.js';

const problems = { '4xx': { $ref: 'ProblemDetails#' } } as const;

/**
 * Which WhatsApp Web build an account's client loads. A pin outlives restarts and moves between hosts with the row;
 * it takes effect at the session's next start (POST .../restart applies it now, from the saved login, no scan).
 */
export default async function webVersionPlugin(app: FastifyInstance, options: { pool: DatabasePool }) {
  const { pool } = options;

  app.put<{ Params: AccountParams; Body: { version: string | null } }>(
    '/accounts/:sessionId/web-version',
    {
      schema: {
        summary:
          "Pin the WhatsApp Web build this account's client loads (null: the service's pin, or WhatsApp's current build); applied at its next start",
        tags: ['accounts'],
        params: accountParams,
        body: {
          type: 'object',
          required: ['version'],
          properties: { version: { type: ['string', 'null'], pattern: WEB_VERSION_PATTERN } },
          additionalProperties: false,
        },
        response: { 200: { $ref: 'Account#' }, ...problems },
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

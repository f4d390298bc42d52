import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type } from 'typebox';
import { findProfilePicture } from '../../db/profile-pictures.js';
import { accountFor } from '../account-access.js';
import { HttpProblem, problem } from '../problem.js';
import { AccountParams, problemResponses } from '../schemas.js';

const picture = Type.String({ format: 'binary' });

/**
 * The account's profile picture as its session fetched it: a backend shows it without ever going to WhatsApp's CDN
 * (whose links carry the session's access), and only the account's workspace reads it.
 */
export default async function profilePicturePlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/accounts/:sessionId/profile-picture',
    {
      schema: {
        summary:
          "The account's WhatsApp profile picture (JPEG, PNG or WebP), fetched by its session after it connected",
        tags: ['accounts'],
        params: AccountParams,
        response: {
          200: {
            description: 'The picture',
            content: Object.fromEntries(
              ['image/jpeg', 'image/png', 'image/webp'].map((type) => [type, { schema: picture }]),
            ),
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const row = await accountFor(options.pool, request.params);
      const picture = row.deleted_at === null ? await findProfilePicture(options.pool, row.id) : null;
      if (!picture) {
        throw new HttpProblem(
          problem(
            404,
            'profile_picture_not_found',
            'Not Found',
            `account ${row.session_id} has no profile picture kept`,
          ),
        );
      }
      return reply
        .header('content-type', picture.content_type)
        .header('cache-control', 'private, max-age=300')
        .header('last-modified', new Date(picture.fetched_at).toUTCString())
        .header('x-content-type-options', 'nosniff')
        .send(picture.bytes);
    },
  );
}

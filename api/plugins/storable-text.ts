import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem, problem } from '../problem.js';

// PostgreSQL stores neither a NUL character (text) nor half of a surrogate pair (jsonb): refused up front, once for
// every route, instead of failing as a database error after validation.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function findUnstorable(value: unknown, path: string): string | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path || '/' : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorable(item, `${path}/${index}`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return `${path}/${key.replace(UNSTORABLE, '?')}`;
      const found = findUnstorable(item, `${path}/${key}`);
      if (found) return found;
    }
  }
  return null;
}

async function storableTextPlugin(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['body', request.body],
      ['querystring', request.query],
    ] as const) {
      const field = findUnstorable(value, '');
      if (field) {
        throw new HttpProblem(
          problem(
            400,
            'unstorable_text',
            'Request is invalid',
            `${part} ${field} holds a NUL character or an unpaired surrogate`,
            { errors: [{ in: part, field, message: 'holds a NUL character or an unpaired surrogate' }] },
          ),
        );
      }
    }
  });
}

export default fp(storableTextPlugin, { name: 'storable-text' });

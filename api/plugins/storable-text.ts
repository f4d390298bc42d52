import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isUnstorable, storableText } from '../../lib/storable-text.js';
import { HttpProblem, problem } from '../problem.js';

// Text PostgreSQL cannot store (lib/storable-text.ts) is refused up front, once for every route, instead of failing
// as a database error after validation.

function findUnstorable(value: unknown, path: string): string | null {
  if (typeof value === 'string') return isUnstorable(value) ? path || '/' : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorable(item, `${path}/${index}`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (isUnstorable(key)) return `${path}/${storableText(key, '?')}`;
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

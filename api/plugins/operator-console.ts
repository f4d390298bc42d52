import httpProxy from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DatabasePool } from 'slonik';
import { TEMPORAL_UI_PUBLIC_PATH } from '../../lib/temporal-ui.js';
import { endOperatorSession, openOperatorSession } from '../../db/operator-sessions.js';
import { assertAdmin, assertOperator, OPERATOR_SESSION_COOKIE } from './auth.js';
import { serveStaticPages, type StaticPage } from './page.js';

export interface OperatorConsoleOptions {
  pool: DatabasePool;
  /**
   * Temporal's Web UI server (its publicPath set to /temporal), on loopback or the internal network; null: no console.
   * The UI has no login of its own: the API is its only door, behind an admin login.
   */
  temporalUiUrl: string | null;
  sessionLifetimeMs: number;
}

const PAGES: Record<string, StaticPage> = {
  '/operator/login': { file: 'operator-login.html', type: 'text/html; charset=utf-8' },
  '/operator/login.js': { file: 'operator-login.js', type: 'text/javascript; charset=utf-8' },
};

/**
 * Operators' browser consoles: a login that trades an admin key for an HttpOnly, SameSite=Strict session cookie
 * (the key itself never stays in the browser), and the Temporal Web UI proxied behind it. The UI's codec calls
 * (/v1/admin/temporal-codec) go out from the same logged-in browser, so it shows payloads decoded.
 */
export default async function operatorConsolePlugin(app: FastifyInstance, options: OperatorConsoleOptions) {
  await serveStaticPages(app, PAGES, "default-src 'self'; frame-ancestors 'none'");

  app.post(
    '/v1/admin/operator-sessions',
    {
      // A sign-in is audited also when the key is refused.
      config: { audit: 'always' },
      schema: {
        summary: 'Open an operator browser session (admin keys only): an HttpOnly cookie for the Temporal Web UI',
        tags: ['admin'],
        response: {
          201: {
            type: 'object',
            required: ['expiresAt'],
            properties: { expiresAt: { type: 'string', format: 'date-time' } },
            additionalProperties: false,
          },
          '4xx': { $ref: 'ProblemDetails#' },
        },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      const keyId = request.principal?.keyId ?? 0;
      const session = await openOperatorSession(options.pool, keyId, options.sessionLifetimeMs);
      void reply.setCookie(OPERATOR_SESSION_COOKIE, session.token, {
        ...sessionCookieAttributes(request),
        maxAge: Math.floor(options.sessionLifetimeMs / 1000),
      });
      return reply.code(201).send({ expiresAt: new Date(session.expiresAt).toISOString() });
    },
  );

  app.delete(
    '/v1/admin/operator-sessions/current',
    {
      config: { auth: 'operator' },
      schema: {
        summary: "End this browser's operator session",
        tags: ['admin'],
        response: { 204: { type: 'null' }, '4xx': { $ref: 'ProblemDetails#' } },
      },
    },
    async (request, reply) => {
      assertOperator(request);
      const token = request.cookies[OPERATOR_SESSION_COOKIE];
      if (token) await endOperatorSession(options.pool, token);
      // A browser replaces a cookie only with one of the same attributes; the clearing one says them all again.
      void reply.clearCookie(OPERATOR_SESSION_COOKIE, sessionCookieAttributes(request));
      return reply.code(204).send();
    },
  );

  const temporalUiUrl = options.temporalUiUrl;
  if (temporalUiUrl) {
    await app.register(async (proxied) => {
      // The UI's own routes, not the API's: kept out of the OpenAPI document.
      proxied.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, hide: true };
      });
      await proxied.register(httpProxy, {
        upstream: temporalUiUrl,
        prefix: TEMPORAL_UI_PUBLIC_PATH,
        rewritePrefix: TEMPORAL_UI_PUBLIC_PATH,
        config: { auth: 'operator' },
        preHandler: operatorOrLogin,
        replyOptions: { rewriteRequestHeaders: (_request, headers) => withoutCredentials(headers) },
      });
    });
  }
}

/** The session cookie's attributes, the same when it is set and when it is cleared. */
function sessionCookieAttributes(request: FastifyRequest) {
  return { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' } as const;
}

/** A browser without a session is sent to the login page (back here after it); a program gets problem details. */
function operatorOrLogin(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  if (!request.principal && request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) {
    void reply.redirect(`/operator/login?next=${encodeURIComponent(request.url)}`, 303);
    return;
  }
  try {
    assertOperator(request);
    done();
  } catch (error) {
    done(error as Error);
  }
}

/** The UI server never sees the operator's key or session: what it does not hold, it cannot leak. */
function withoutCredentials<T extends Record<string, unknown>>(headers: T): T {
  const { authorization: _authorization, 'x-api-key': _apiKey, ...rest } = headers;
  const cookie = typeof rest.cookie === 'string' ? rest.cookie : '';
  const kept = cookie
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part && !part.startsWith(`${OPERATOR_SESSION_COOKIE}=`))
    .join('; ');
  const forwarded: Record<string, unknown> = { ...rest };
  if (kept) forwarded.cookie = kept;
  else delete forwarded.cookie;
  return forwarded as T;
}

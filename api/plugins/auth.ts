import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { DatabasePool } from 'slonik';
import { operatorSessionPrincipal } from '../../db/operator-sessions.js';
import { authenticateApiKey, type ApiPrincipal } from '../../db/workspaces.js';
import { FailedAuthentications, KnownCredentials } from '../failed-authentications.js';
import { HttpProblem, problem } from '../problem.js';
import { legacyKeylessRefusal, type LegacyKeylessAccess } from '../legacy-keyless-access.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
  }
  interface FastifyContextConfig {
    /**
     * `public`: no key (health, docs, the page). `legacy`: the legacy session API's endpoints (see api/legacy-keyless-access.ts). `metrics`:
     * the scrape token (METRICS_TOKEN) or an admin key. `operator`: an admin key or an operator's browser session
     * (api/plugins/operator-console.ts); without either, a browser's page visit reaches the route with a null
     * principal (it redirects to the login page) and anything else gets 401 before its body is read.
     */
    auth?: 'public' | 'legacy' | 'metrics' | 'operator';
  }
}

export interface AuthOptions {
  pool: DatabasePool;
  /** The earlier Node service's backend called its Node service on loopback without a key; keep that working there only. */
  legacyKeyless: LegacyKeylessAccess;
  /** The token Prometheus scrapes /metrics with; null: only admin keys may read it. */
  metricsToken: string | null;
  /** Failed authentications an address may have per minute; past them, its failures get 429 (valid keys pass). */
  failedAuthenticationsPerMinute: number;
}

/** The HttpOnly cookie holding an operator's browser session (never readable by a page's scripts). */
export const OPERATOR_SESSION_COOKIE = 'wa_operator_session';

/** The one route a key may come in the query string: a browser cannot set headers on a WebSocket. */
const QUERY_KEY_ROUTES = new Set(['/v1/stream']);

/**
 * Reads the key: Authorization: Bearer or X-API-Key, and ?access_token= on the WebSocket route only (anywhere else a
 * key in a URL would land in proxies' logs).
 */
export function presentedKey(request: FastifyRequest): string | null {
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim();
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header.trim();
  if (!QUERY_KEY_ROUTES.has(request.routeOptions.url ?? '')) return null;
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.access_token === 'string' ? query.access_token : null;
}

async function authPlugin(app: FastifyInstance, options: AuthOptions) {
  app.decorateRequest('principal', null);
  const failures = new FailedAuthentications(options.failedAuthenticationsPerMinute);
  const known = new KnownCredentials(options.pool);
  /** A failure past the address's limit is answered 429 (the window is not extended); before it, it is counted. */
  const refuseOrCountFailure = (request: FastifyRequest): void => {
    const retryAfterMs = failures.retryAfterMs(request.ip);
    if (retryAfterMs === 0) {
      failures.recordFailure(request.ip);
      return;
    }
    const retryAfterSeconds = Math.ceil(retryAfterMs / 1000);
    throw new HttpProblem(
      problem(
        429,
        'too_many_failed_authentications',
        'Too Many Requests',
        `too many requests from this address failed authentication; retry after ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      ),
    );
  };
  app.addHook('onRequest', async (request) => {
    const mode = request.routeOptions.config?.auth;
    const url = request.routeOptions.url;
    // Unmatched routes fall through to the 404 handler; the OpenAPI pages are public documentation.
    if (mode === 'public' || url === undefined || url === '/docs' || url.startsWith('/docs/')) return;
    const key = presentedKey(request);
    if (!key && mode === 'legacy' && legacyKeylessRefusal(options.legacyKeyless, request) === null) {
      const onlyWorkspaces = options.legacyKeyless.workspaces;
      request.principal = {
        keyId: 0,
        kind: 'legacy_keyless',
        keyPrefix: null,
        workspaceId: null,
        name: 'legacy-loopback',
        onlyWorkspaces,
      };
      return;
    }
    if (mode === 'metrics' && key && options.metricsToken && sameSecret(key, options.metricsToken)) {
      request.principal = {
        keyId: 0,
        kind: 'metrics_token',
        keyPrefix: null,
        workspaceId: null,
        name: 'metrics-scrape',
        onlyWorkspaces: new Set(),
        scopes: ['metrics:read'],
      };
      return;
    }
    const sessionToken = mode === 'operator' && !key ? request.cookies[OPERATOR_SESSION_COOKIE] : undefined;
    if (!key && !sessionToken) {
      // A browser opening an operator page without a session is sent to the login page by its route (a GET: no body
      // to parse). Anything else is refused here, in onRequest, before Fastify reads a byte of its body: an anonymous
      // client gets no parsing or validation of up to 8 MiB, and its attempts count like invalid keys.
      if (mode === 'operator' && isPageVisit(request)) return;
      refuseOrCountFailure(request);
      throw unauthenticated(mode);
    }
    // Every credential is checked, also from an address past its limit: what passes is never refused here, only
    // failures are counted and refused. Such an address's credentials are looked up only when they may exist.
    const locked = failures.retryAfterMs(request.ip) > 0;
    const worthALookup = !locked || (key ? await known.mayBeKey(key) : await known.mayBeSession(sessionToken ?? ''));
    const principal = !worthALookup
      ? null
      : key
        ? await authenticateApiKey(options.pool, key)
        : await operatorSessionPrincipal(options.pool, sessionToken ?? '');
    if (principal) {
      request.principal = principal;
      return;
    }
    // An expired session's browser finds the login page again (its failure still counts, so a flood of forged
    // cookies meets the lookup bound above); nothing with a body gets past here unauthenticated.
    if (mode === 'operator' && isPageVisit(request)) {
      if (failures.retryAfterMs(request.ip) === 0) failures.recordFailure(request.ip);
      return;
    }
    refuseOrCountFailure(request);
    throw unauthenticated(mode);
  });
}

/** A browser navigating to a page (which an operator route answers with a redirect to the login page). */
function isPageVisit(request: FastifyRequest): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

function unauthenticated(mode: FastifyContextConfig['auth']): HttpProblem {
  const detail =
    mode === 'operator'
      ? 'an admin key or an operator login (/operator/login) is required'
      : 'a valid API key is required (Authorization: Bearer <key> or X-API-Key)';
  return new HttpProblem(problem(401, 'unauthenticated', 'Unauthorized', detail));
}

/**
 * A workspace key sees only its workspace; anything else answers 404, exactly like something that does not exist,
 * so a key of workspace A cannot even learn what workspace B has.
 */
export function assertWorkspaceAccess(request: FastifyRequest, workspaceId: string, notFound: () => HttpProblem): void {
  const principal = request.principal;
  if (!principal || (principal.workspaceId !== null && principal.workspaceId !== workspaceId)) throw notFound();
  if (principal.onlyWorkspaces && !principal.onlyWorkspaces.has(workspaceId)) throw notFound();
}

/** Compares secrets in constant time. */
function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest()];
  return timingSafeEqual(a, b);
}

export function assertAdmin(request: FastifyRequest): void {
  if (request.principal?.workspaceId !== null) {
    throw new HttpProblem(problem(404, 'route_not_found', 'Not Found', 'no such route for this key'));
  }
}

/** Routes of `operator` mode: an admin, else 401 (no credentials) or the 404 of a route a workspace key lacks. */
export function assertOperator(request: FastifyRequest): void {
  if (!request.principal) {
    throw new HttpProblem(
      problem(
        401,
        'unauthenticated',
        'Unauthorized',
        'an admin key or an operator login (/operator/login) is required',
      ),
    );
  }
  assertAdmin(request);
}

export default fp(authPlugin, { name: 'auth', dependencies: ['problem-details', '@fastify/cookie'] });

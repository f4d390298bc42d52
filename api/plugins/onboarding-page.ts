import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type, type Static } from 'typebox';
import { findAccountBySession } from '../../db/accounts.js';
import type { OpenedOnboardingLink } from '../../db/onboarding-links.js';
import type { Keyring } from '../../lib/keyring.js';
import type { EventFanout } from '../event-fanout.js';
import { openLinkByToken } from '../onboarding-link-access.js';
import { endedLinkWords, OnboardingPageState, toOnboardingPageState } from '../onboarding-link-view.js';
import { requestPairingCode } from '../pairing-code-request.js';
import { HttpProblem, problem } from '../problem.js';
import { phoneNumberSchema, problemResponses } from '../schemas.js';
import { serveStaticPages } from './page.js';

const TokenParams = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.-]+$' }) },
  { additionalProperties: false },
);
type TokenParams = Static<typeof TokenParams>;
const PairingCodeBody = Type.Object({ phoneNumber: phoneNumberSchema }, { additionalProperties: false });
type PairingCodeBody = Static<typeof PairingCodeBody>;

/** Opens of one address per minute: a person reloads a few times; anything more is guessing or scraping. */
const OPENS_PER_MINUTE = 30;
const PAIRING_CODES_PER_MINUTE = 5;
/** A revocation made on another API process reaches an open page within this long. */
const RECHECK_MS = 5_000;
/** Live pages one link may hold open at once. */
const PAGES_PER_LINK = 5;

/**
 * The page behind the customer's onboarding link, and only it: no key, no route of the API. Its token names one link,
 * whose account's QR, pairing code and result it shows live, and nothing else. Nothing here is cached or framed,
 * and the page sends no Referer, so the link leaves no copy behind it.
 */
const PAGE_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export default async function onboardingPagePlugin(
  app: FastifyInstance,
  options: { pool: DatabasePool; temporal: Client; keyring: Keyring; fanout: EventFanout },
) {
  const { pool, keyring, fanout } = options;
  const pagesOpen = new Map<string, number>();
  const privateHeaders = (reply: FastifyReply) =>
    reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-robots-tag', 'noindex, nofollow');

  await serveStaticPages(
    app,
    {
      '/onboard.js': { file: 'onboard.js', type: 'text/javascript; charset=utf-8' },
      '/onboard.css': { file: 'onboard.css', type: 'text/css; charset=utf-8' },
    },
    PAGE_SECURITY_POLICY,
  );
  const page = await readFile(new URL('../../web/onboard.html', import.meta.url));
  app.get<{ Params: TokenParams }>(
    '/onboard/:token',
    {
      config: { auth: 'public', rateLimit: { max: OPENS_PER_MINUTE, timeWindow: 60_000 } },
      schema: { hide: true, params: TokenParams },
    },
    async (_request, reply) =>
      privateHeaders(reply)
        .type('text/html; charset=utf-8')
        .header('content-security-policy', PAGE_SECURITY_POLICY)
        .send(page),
  );

  app.get<{ Params: TokenParams }>(
    '/onboard/:token/state',
    {
      config: { auth: 'public', rateLimit: { max: OPENS_PER_MINUTE, timeWindow: 60_000 } },
      schema: {
        summary:
          "What an onboarding link's visitor sees: the workspace's display name, the account's QR or pairing code, and the result (no key: the link's token is the access)",
        tags: ['onboarding'],
        params: TokenParams,
        response: { 200: OnboardingPageState, ...problemResponses },
      },
    },
    async (request, reply) => {
      privateHeaders(reply);
      return toOnboardingPageState(await openLinkByToken(pool, keyring, request.params.token, true));
    },
  );

  app.post<{ Params: TokenParams; Body: PairingCodeBody }>(
    '/onboard/:token/pairing-code',
    {
      config: { auth: 'public', rateLimit: { max: PAIRING_CODES_PER_MINUTE, timeWindow: 60_000 } },
      schema: {
        summary: "An onboarding link's visitor asks for a pairing code for their phone number instead of the QR",
        tags: ['onboarding'],
        params: TokenParams,
        body: PairingCodeBody,
        response: { 200: Type.Object({ code: Type.String() }), ...problemResponses },
      },
    },
    async (request, reply) => {
      privateHeaders(reply);
      const { account } = await openLinkByToken(pool, keyring, request.params.token, false);
      return requestPairingCode(options.temporal, account, request.body.phoneNumber, reply);
    },
  );

  app.get<{ Params: TokenParams }>(
    '/onboard/:token/stream',
    {
      websocket: true,
      config: {
        auth: 'public',
        rateLimit: { max: OPENS_PER_MINUTE, timeWindow: 60_000 },
        swaggerTransform: ({ schema, url }) => ({
          schema: {
            ...schema,
            hide: false,
            description:
              'Upgrade to a WebSocket: each message is the page state (as GET .../state) when it changes, then `{"type":"ended","reason","detail"}` when the link ends, and the socket closes.',
            response: { 101: { description: 'Switching Protocols: the page state follows live' } },
          },
          url,
        }),
      },
      schema: {
        summary: "WebSocket: an onboarding link's page state, live, until the link ends",
        tags: ['onboarding'],
        params: TokenParams,
      },
      preHandler: async (request) => {
        const opened = await openLinkByToken(pool, keyring, request.params.token, false);
        if ((pagesOpen.get(opened.link.id) ?? 0) >= PAGES_PER_LINK) {
          throw new HttpProblem(
            problem(
              429,
              'too_many_streams',
              'Too Many Requests',
              `at most ${PAGES_PER_LINK} pages may follow one link at once`,
              { retryAfterSeconds: 10 },
            ),
          );
        }
      },
    },
    async (socket, request) => {
      const token = request.params.token;
      let opened: OpenedOnboardingLink;
      try {
        opened = await openLinkByToken(pool, keyring, token, false);
      } catch {
        socket.close(1008, 'link ended');
        return;
      }
      const linkId = opened.link.id;
      pagesOpen.set(linkId, (pagesOpen.get(linkId) ?? 0) + 1);
      let closed = false;
      let lastSent = '';
      let checking: Promise<void> = Promise.resolve();
      const end = (reason: string, detail: string) => {
        if (closed) return;
        socket.send(JSON.stringify({ type: 'ended', reason, detail }));
        socket.close(1000, 'link ended');
      };
      const sendState = async (current: OpenedOnboardingLink) => {
        const message = JSON.stringify(await toOnboardingPageState(current));
        if (closed || message === lastSent) return;
        lastSent = message;
        socket.send(message);
      };
      // One check at a time, in order: each reads the link and its account afresh.
      const check = () => {
        checking = checking.then(async () => {
          if (closed) return;
          try {
            await sendState(await openLinkByToken(pool, keyring, token, false));
          } catch (error) {
            if (!(error instanceof HttpProblem) || error.details.status !== 410) {
              if (!(error instanceof HttpProblem)) request.log.warn({ err: error }, 'onboarding page check failed');
              return;
            }
            const reason = (error.details.reason as string | undefined) ?? 'expired';
            // The account connected while the page watched: the visitor sees the result, then the link is spent.
            if (reason === 'connected') {
              const { account, displayName, link } = opened;
              const now = await findAccountBySession(pool, account.workspace_id, account.session_id).catch(() => null);
              if (now?.status === 'connected') await sendState({ link, account: now, displayName });
            }
            end(reason, error.details.detail ?? endedLinkWords('expired'));
          }
        });
      };
      const unsubscribe = await fanout.subscribe({
        workspaceId: opened.account.workspace_id,
        sessionId: opened.account.session_id,
        deliver: () => check(),
      });
      const recheck = setInterval(check, RECHECK_MS);
      const expiry = setTimeout(check, Math.max(0, opened.link.expires_at - Date.now()) + 100);
      const release = () => {
        if (closed) return;
        closed = true;
        clearInterval(recheck);
        clearTimeout(expiry);
        unsubscribe();
        const left = (pagesOpen.get(linkId) ?? 1) - 1;
        if (left > 0) pagesOpen.set(linkId, left);
        else pagesOpen.delete(linkId);
      };
      socket.on('close', release);
      socket.on('message', () => undefined);
      // Closed while subscribing: its close came before anyone listened.
      if (socket.readyState !== socket.OPEN) return release();
      check();
    },
  );
}

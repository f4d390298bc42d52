import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type, type Static } from 'typebox';
import { listEventsAfter, type AccountEventWithMetadata } from '../../db/account-events.js';
import { describeEvent } from '../../domain/account-wait.js';
import { accountFor, workspaceNotFound } from '../account-access.js';
import type { EventFanout } from '../event-fanout.js';
import { HttpProblem, problem } from '../problem.js';
import { rowIdSchema, sessionIdSchema, workspaceIdSchema } from '../schemas.js';
import { CLOSE_SLOW_CONSUMER, StreamGuard, type StreamLimits } from '../stream-guard.js';
import { assertWorkspaceAccess } from './auth.js';

const StreamQuery = Type.Object(
  {
    workspaceId: workspaceIdSchema,
    sessionId: Type.Optional(sessionIdSchema),
    lastEventId: Type.Optional(rowIdSchema(0)),
    access_token: Type.Optional(
      Type.String({ description: 'the API key, for browsers (which cannot set headers on a WebSocket)' }),
    ),
  },
  { additionalProperties: false },
);
// The route keeps a plain generic: @fastify/websocket types its handler apart from the type provider's.
type StreamQuery = Static<typeof StreamQuery>;

/** Live events held for a subscriber while its backlog is read, before it is sent away to resume later. */
const MAX_BUFFERED_WHILE_CATCHING_UP = 10_000;
const BACKLOG_LIMIT = 1_000;
const STREAM_RETRY_AFTER_SECONDS = 10;

/** What a subscriber receives for each event; `id` is the resume point. */
export function streamMessage(event: AccountEventWithMetadata) {
  return {
    id: event.id,
    type: event.type,
    workspaceId: event.workspace_id,
    sessionId: event.session_id,
    status: event.status,
    data: event.data,
    // What the backend gave the account when it created it: a subscriber routes the event without a lookup.
    metadata: event.account_metadata,
    // In words, as of the event: what the account was doing or waiting for then.
    detail: describeEvent(event, event.occurred_at),
    occurredAt: new Date(event.occurred_at).toISOString(),
  };
}

/**
 * GET /v1/stream (WebSocket): every status change and every QR of a workspace (or of one account), each with a
 * monotonically increasing event id. Reconnect with `lastEventId` to get what was missed, then the live stream.
 * Authenticated before the upgrade, like every route: an unauthenticated socket never opens.
 */
export default async function eventStreamPlugin(
  app: FastifyInstance,
  options: { pool: DatabasePool; fanout: EventFanout; limits: StreamLimits },
) {
  const { pool, fanout } = options;
  const guard = new StreamGuard(pool, options.limits);
  app.addHook('onClose', async () => guard.stop());

  app.get<{ Querystring: StreamQuery }>(
    '/v1/stream',
    {
      websocket: true,
      // @fastify/websocket hides its routes from the OpenAPI document; this one is part of the API all the same.
      config: {
        swaggerTransform: ({ schema, url }) => ({
          schema: {
            ...schema,
            hide: false,
            description:
              'Upgrade to a WebSocket (101 Switching Protocols). Every message is one JSON object: `subscribed` first, then the account events after lastEventId, then live ones.',
            response: { 101: { description: 'Switching Protocols: the stream of events opens' } },
          },
          url,
        }),
      },
      schema: {
        summary: 'WebSocket: live account events of a workspace or one account, resumable with lastEventId',
        tags: ['events'],
        querystring: StreamQuery,
      },
      // After validation: the query's ids are checked before they reach a lookup (a stream with a malformed or missing
      // workspace is a 400, never a failed query).
      preHandler: async (request) => {
        const { workspaceId, sessionId } = request.query;
        assertWorkspaceAccess(request, workspaceId, () => workspaceNotFound(workspaceId));
        if (sessionId) await accountFor(pool, { workspaceId, sessionId });
        const refusal = guard.refusal(request.principal?.keyId ?? 0, request.ip);
        if (refusal) {
          // A slot frees when one of the holder's streams closes, which nothing here can foretell: a short wait.
          const retryAfterSeconds = STREAM_RETRY_AFTER_SECONDS;
          throw new HttpProblem(problem(429, 'too_many_streams', 'Too Many Requests', refusal, { retryAfterSeconds }));
        }
      },
    },
    async (socket, request) => {
      const { workspaceId, sessionId = null, lastEventId } = request.query;
      let lastSent = lastEventId ?? 0;
      let live = false;
      const buffered: AccountEventWithMetadata[] = [];
      const send = (event: AccountEventWithMetadata) => {
        if (event.id <= lastSent || socket.readyState !== socket.OPEN) return;
        // A subscriber that does not read holds memory here: it goes, and resumes from its last event id.
        if (socket.bufferedAmount > guard.limits.maxBufferedBytes) {
          socket.close(CLOSE_SLOW_CONSUMER, 'too slow; reconnect with lastEventId');
          return;
        }
        lastSent = event.id;
        socket.send(JSON.stringify(streamMessage(event)));
      };
      // Everything the socket holds is released on its close, however early that comes.
      let closed = false;
      const releases: Array<() => void> = [];
      socket.on('close', () => {
        closed = true;
        for (const release of releases.splice(0)) release();
      });
      const ping = setInterval(() => socket.ping(), 30_000);
      releases.push(() => clearInterval(ping));
      releases.push(
        guard.track({
          keyId: request.principal?.keyId ?? 0,
          address: request.ip,
          close: (code, reason) => socket.close(code, reason),
        }),
      );
      const unsubscribe = await fanout.subscribe({
        workspaceId,
        sessionId,
        deliver: (event) => {
          if (live) return send(event);
          // Events arriving faster than the backlog is read: past a bound, the subscriber resumes later instead.
          if (buffered.length >= MAX_BUFFERED_WHILE_CATCHING_UP) {
            socket.close(CLOSE_SLOW_CONSUMER, 'too far behind; reconnect with lastEventId');
            return;
          }
          buffered.push(event);
        },
      });
      if (closed) return unsubscribe();
      releases.push(unsubscribe);
      socket.on('message', () => undefined);

      socket.send(JSON.stringify({ type: 'subscribed', workspaceId, sessionId, lastEventId: lastEventId ?? null }));
      if (lastEventId !== undefined) {
        // What was missed while disconnected, then whatever arrived live meanwhile, in id order, each once.
        try {
          for (let after = lastEventId; ;) {
            const missed = await listEventsAfter(pool, {
              workspaceId,
              sessionId,
              afterId: after,
              limit: BACKLOG_LIMIT,
            });
            for (const event of missed) send(event);
            // A subscriber gone (or sent away as too slow) needs no more of its backlog read.
            if (closed || socket.readyState !== socket.OPEN) return;
            if (missed.length < BACKLOG_LIMIT) break;
            after = (missed[missed.length - 1] as AccountEventWithMetadata).id;
          }
        } catch {
          socket.close(1011, 'the backlog could not be read; reconnect with lastEventId');
          return;
        }
      }
      for (const event of buffered.sort((a, b) => a.id - b.id)) send(event);
      buffered.length = 0;
      live = true;
    },
  );
}

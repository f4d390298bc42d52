import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type } from 'typebox';
import {
  CANARY_STATES,
  CanaryAlreadyRunning,
  canaryFigures,
  decideCanary,
  findCanary,
  listCanaries,
  promotedWebBuild,
  startCanary,
  type CanaryRow,
} from '../../db/web-build-canaries.js';
import { WEB_VERSION_PATTERN } from '../../domain/web-version.js';
import type { ArmFigures } from '../../domain/web-build-canary-rule.js';
import { webBuildCanary } from '../../workflows/web-build-canary.js';
import { withTemporalDeadline } from '../dependency-outage.js';
import { HttpProblem, problem } from '../problem.js';
import { Nullable, problemResponses, rowIdSchema, StringEnum, workspaceIdSchema } from '../schemas.js';
import { assertAdmin } from './auth.js';

const CanaryBody = Type.Object(
  {
    candidate: Type.String({ pattern: WEB_VERSION_PATTERN, description: 'the WhatsApp Web build to try' }),
    sharePercent: Type.Integer({
      minimum: 0,
      maximum: 100,
      description:
        'the share of unpinned accounts whose new starts load the candidate (each account stays on its side)',
    }),
    workspaces: Type.Optional(
      Type.Array(workspaceIdSchema, {
        maxItems: 100,
        uniqueItems: true,
        description: "workspaces whose accounts' new starts all load the candidate, whatever the share",
      }),
    ),
    minStarts: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, default: 20, description: 'settled starts before a promotion' }),
    ),
    readyWithinSeconds: Type.Optional(
      Type.Integer({
        minimum: 5,
        maximum: 3600,
        default: 120,
        description: 'how soon a start must reach a working page (its QR, or connected) to count as a success',
      }),
    ),
    judgeEverySeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3600, default: 30, description: 'how often the two arms are compared' }),
    ),
  },
  { additionalProperties: false },
);

const Figures = Type.Object({
  starts: Type.Integer(),
  failures: Type.Integer(),
  p50Ms: Nullable(Type.Number()),
  p95Ms: Nullable(Type.Number()),
});

const CanaryView = Type.Object(
  {
    id: Type.Integer(),
    candidate: Type.String(),
    sharePercent: Type.Integer(),
    workspaces: Type.Array(Type.String()),
    minStarts: Type.Integer(),
    readyWithinSeconds: Type.Integer(),
    state: StringEnum(CANARY_STATES),
    startedAt: Type.String({ format: 'date-time' }),
    decidedAt: Nullable(Type.String({ format: 'date-time' })),
    /** Why it was promoted, rolled back or stopped, in words. */
    decisionReason: Nullable(Type.String()),
    /** Each arm's settled starts so far (or when decided). */
    figures: Type.Object({ candidate: Figures, current: Figures }),
    createdBy: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

const CanaryList = Type.Object({
  currentBuild: Nullable(Type.String({ description: 'the build a promotion made current (null: the service pin)' })),
  items: Type.Array(CanaryView),
});

const CanaryParams = Type.Object({ canaryId: rowIdSchema(1) }, { additionalProperties: false });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Canary WhatsApp Web builds, for operators (admin keys): a candidate build for a share of accounts (or named
 * workspaces), compared with the current build over the same period and promoted or rolled back by the rule in
 * domain/web-build-canary-rule.ts (workflows/web-build-canary.ts judges it).
 */
export default async function webBuildCanariesPlugin(
  fastify: FastifyInstance,
  options: { pool: DatabasePool; temporal: Client; taskQueue: string },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, temporal } = options;

  const view = async (canary: CanaryRow) => {
    const decided = canary.decision_figures as { candidate?: unknown; current?: unknown } | null;
    const figures =
      canary.state === 'running' || !decided?.candidate || !decided.current
        ? await canaryFigures(pool, canary)
        : (decided as { candidate: ArmFigures; current: ArmFigures });
    return {
      id: canary.id,
      candidate: canary.candidate,
      sharePercent: canary.share_percent,
      workspaces: canary.workspaces,
      minStarts: canary.min_starts,
      readyWithinSeconds: canary.ready_within_seconds,
      state: canary.state,
      startedAt: iso(canary.started_at) as string,
      decidedAt: iso(canary.decided_at),
      decisionReason: canary.decision_reason,
      figures,
      createdBy: canary.created_by,
    };
  };
  const found = async (canaryId: number) => {
    const canary = await findCanary(pool, canaryId);
    if (!canary) throw new HttpProblem(problem(404, 'canary_not_found', 'Not Found', `no canary ${canaryId}`));
    return canary;
  };

  app.post(
    '/v1/admin/web-build-canaries',
    {
      schema: {
        summary:
          'Admins only: try a WhatsApp Web build on a share of accounts (or named workspaces) before all; promoted or rolled back by the rule',
        tags: ['admin'],
        body: CanaryBody,
        response: { 201: CanaryView, ...problemResponses },
      },
    },
    async (request, reply) => {
      assertAdmin(request);
      const body = request.body;
      if (body.sharePercent === 0 && (body.workspaces ?? []).length === 0) {
        throw new HttpProblem(
          problem(400, 'canary_empty', 'Bad Request', 'a canary needs a share above 0 or at least one workspace'),
        );
      }
      let canary: CanaryRow;
      try {
        canary = await startCanary(pool, {
          taskQueue: options.taskQueue,
          candidate: body.candidate,
          sharePercent: body.sharePercent,
          workspaces: body.workspaces ?? [],
          minStarts: body.minStarts ?? 20,
          readyWithinSeconds: body.readyWithinSeconds ?? 120,
          createdBy: request.principal?.keyPrefix ?? null,
        });
      } catch (error) {
        if (error instanceof CanaryAlreadyRunning)
          throw new HttpProblem(problem(409, 'canary_running', 'Conflict', error.message));
        throw error;
      }
      try {
        await withTemporalDeadline(temporal, () =>
          temporal.workflow.start(webBuildCanary, {
            taskQueue: options.taskQueue,
            workflowId: `web-build-canary-${canary.id}`,
            args: [{ canaryId: canary.id, judgeEverySeconds: body.judgeEverySeconds ?? 30 }],
          }),
        );
      } catch (error) {
        // A canary nobody judges would hold its accounts on the candidate: it ends before it starts.
        await decideCanary(pool, canary, {
          state: 'stopped',
          reason: 'its judging workflow could not be started',
          figures: await canaryFigures(pool, canary),
        });
        throw error;
      }
      void reply.code(201);
      return view(canary);
    },
  );

  app.get(
    '/v1/admin/web-build-canaries',
    {
      schema: {
        summary: 'Admins only: the canaries, newest first, each with its figures and decision, and the current build',
        tags: ['admin'],
        response: { 200: CanaryList, ...problemResponses },
      },
    },
    async (request) => {
      assertAdmin(request);
      const canaries = await listCanaries(pool, options.taskQueue);
      return {
        currentBuild: await promotedWebBuild(pool, options.taskQueue),
        items: await Promise.all(canaries.map(view)),
      };
    },
  );

  app.get(
    '/v1/admin/web-build-canaries/:canaryId',
    {
      schema: {
        summary: 'Admins only: one canary, its two arms so far, and its decision',
        tags: ['admin'],
        params: CanaryParams,
        response: { 200: CanaryView, ...problemResponses },
      },
    },
    async (request) => {
      assertAdmin(request);
      return view(await found(request.params.canaryId));
    },
  );

  app.post(
    '/v1/admin/web-build-canaries/:canaryId/stop',
    {
      schema: {
        summary:
          'Admins only: stop a running canary without a decision; new starts load the current build again (sessions running the candidate keep it until they restart)',
        tags: ['admin'],
        params: CanaryParams,
        body: Type.Optional(
          Type.Object(
            { reason: Type.Optional(Type.String({ maxLength: 500 })) },
            {
              additionalProperties: false,
            },
          ),
        ),
        response: { 200: CanaryView, ...problemResponses },
      },
    },
    async (request) => {
      assertAdmin(request);
      const canary = await found(request.params.canaryId);
      if (canary.state !== 'running')
        throw new HttpProblem(problem(409, 'canary_decided', 'Conflict', `canary ${canary.id} is ${canary.state}`));
      const figures = await canaryFigures(pool, canary);
      await decideCanary(pool, canary, {
        state: 'stopped',
        reason: request.body?.reason ?? 'stopped by an operator',
        figures,
      });
      return view(await found(canary.id));
    },
  );
}

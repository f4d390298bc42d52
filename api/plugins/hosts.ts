import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type } from 'typebox';
import { listHosts, type HostRow } from '../../db/hosts.js';
import { hostState } from '../../domain/host-state.js';
import { Nullable, problemResponses, QueryWithDefaults, StringEnum } from '../schemas.js';
import { assertAdmin } from './auth.js';

const HostsQuery = QueryWithDefaults(
  Type.Object(
    {
      seenWithinSeconds: Type.Integer({
        minimum: 10,
        maximum: 7 * 24 * 3600,
        default: 3600,
        description: 'hosts that reported within this many seconds, stopped and silent ones included',
      }),
    },
    { additionalProperties: false },
  ),
);

const dateTime = Type.String({ format: 'date-time' });
const HostView = Type.Object(
  {
    taskQueue: Type.String({ description: "the host's own task queue: its name in Temporal and in the leases" }),
    hostname: Type.String(),
    pid: Type.Integer(),
    engine: StringEnum(['real', 'simulated']),
    state: StringEnum(['running', 'draining', 'stopped', 'silent'], {
      description: 'silent: no report for three intervals (killed, frozen, or cut off from the database)',
    }),
    seats: Type.Integer(),
    sessions: Type.Integer({ description: 'sessions it holds a live lease for' }),
    startsPerSecond: Type.Number(),
    builds: Type.Array(
      Type.Object({ version: Nullable(Type.String()), sessions: Type.Integer() }, { additionalProperties: false }),
      { description: 'the WhatsApp Web builds its sessions run (null: not seen yet)' },
    ),
    processMemoryBytes: Type.Integer({ description: "the worker process's own resident memory" }),
    sessionsMemoryBytes: Nullable(Type.Integer({ description: "what its sessions' browsers hold, as last seen" })),
    leasesRenewedAt: Nullable(dateTime),
    startedAt: dateTime,
    reportedAt: dateTime,
  },
  { additionalProperties: false },
);
const HostList = Type.Object({ items: Type.Array(HostView) }, { additionalProperties: false });

const iso = (ms: number) => new Date(ms).toISOString();

function toHostView(row: HostRow, now: number) {
  return {
    taskQueue: row.task_queue,
    hostname: row.hostname,
    pid: row.pid,
    engine: row.engine,
    state: hostState({ draining: row.draining, stoppedAt: row.stopped_at, reportedAt: row.reported_at }, now),
    seats: row.seats,
    sessions: row.sessions,
    startsPerSecond: row.starts_per_second,
    builds: row.builds,
    processMemoryBytes: row.process_memory_bytes,
    sessionsMemoryBytes: row.sessions_memory_bytes,
    leasesRenewedAt: row.leases_renewed_at === null ? null : iso(row.leases_renewed_at),
    startedAt: iso(row.started_at),
    reportedAt: iso(row.reported_at),
  };
}

/** The fleet at a glance, for operators (admin keys only): every host, what it can take, holds and runs. */
export default async function hostsPlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/admin/hosts',
    {
      schema: {
        summary: 'The hosts of the fleet: seats, sessions, start pace, builds, memory, last lease renewal, draining',
        tags: ['admin'],
        querystring: HostsQuery,
        response: { 200: HostList, ...problemResponses },
      },
    },
    async (request) => {
      assertAdmin(request);
      const rows = await listHosts(options.pool, request.query.seenWithinSeconds);
      const now = Date.now();
      return { items: rows.map((row) => toHostView(row, now)) };
    },
  );
}

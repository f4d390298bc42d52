import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DatabasePool } from 'slonik';
import { appendAuditEntry, forgetAuditEntriesOlderThan } from '../../db/audit-log.js';
import { auditEntry } from '../audit-entry.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace a change concerns when neither its path nor its body says (a key revoked by its prefix). */
    auditWorkspaceId?: string | null;
  }
  interface FastifyContextConfig {
    /**
     * The audit log records every change (POST, PUT, PATCH, DELETE) an authenticated principal asks for. `false`:
     * not a change of the service (the simulated phone, decoding payloads); `always`: also when refused before
     * anyone was authenticated (an operator's sign-in).
     */
    audit?: false | 'always';
  }
}

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const RETENTION_SWEEP_EVERY_MS = 3_600_000;

/**
 * Writes the audit log once each change request is answered, whatever route group it belongs to, so a new route is
 * audited without saying so. The answer is never held up by it: the entry is written after the response is sent.
 */
async function auditPlugin(app: FastifyInstance, options: { pool: DatabasePool; retentionDays: number }) {
  app.addHook('onResponse', async (request, reply) => {
    const audit = request.routeOptions.config?.audit;
    if (!CHANGES.has(request.method) || audit === false) return;
    if (!request.principal && audit !== 'always') return;
    try {
      await appendAuditEntry(options.pool, auditEntry(request, reply));
    } catch (error) {
      request.log.error({ err: error }, 'could not write the audit entry');
    }
  });

  const sweep = () =>
    forgetAuditEntriesOlderThan(options.pool, options.retentionDays).catch((error: unknown) =>
      app.log.warn({ err: error }, 'could not remove expired audit entries'),
    );
  const timer = setInterval(() => void sweep(), RETENTION_SWEEP_EVERY_MS);
  timer.unref();
  app.addHook('onReady', async () => void sweep());
  app.addHook('onClose', async () => clearInterval(timer));
}

export default fp(auditPlugin, { name: 'audit', dependencies: ['auth'] });

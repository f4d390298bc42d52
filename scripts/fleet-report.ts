import { parseArgs } from 'node:util';
import { createDatabasePool } from '../db/pool.js';
import { failedCount, openClientsByHost, overlappingOwners, qrEventCount } from '../infra/fleet-audit.js';

/**
 * `npm run fleet-report -- --workspace <ws> [--sessions <prefix>] [--killed-host <host> --killed-at <ms>]`: what the
 * fleet of hosts did with a workspace's sessions, as one JSON line: running clients per host, sessions that had two
 * owners at once, QR codes shown (a new one after a move means a rescan) and failed accounts. It reads DATABASE_URL
 * with the service's row access, so an operator runs it in any worker or API container.
 */
const { values } = parseArgs({
  options: {
    workspace: { type: 'string' },
    sessions: { type: 'string', default: '' },
    'killed-host': { type: 'string' },
    'killed-at': { type: 'string' },
  },
});
const databaseUrl = process.env.DATABASE_URL;
if (!values.workspace || !databaseUrl) {
  process.stderr.write('usage: DATABASE_URL=... npm run fleet-report -- --workspace <ws> [--sessions <prefix>]\n');
  process.exit(2);
}
const killed =
  values['killed-host'] && values['killed-at']
    ? { host: values['killed-host'], at: Number(values['killed-at']) }
    : null;
const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 1 });
try {
  const prefix = values.sessions ?? '';
  const overlaps = await overlappingOwners(pool, prefix, killed);
  const report = {
    clientsByHost: Object.fromEntries(await openClientsByHost(pool, prefix)),
    twoOwners: overlaps.length,
    overlaps,
    qrShown: await qrEventCount(pool, values.workspace),
    failed: await failedCount(pool, values.workspace),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await pool.end();
}

import { migrate } from '../db/migrate.js';
import { ensureProcessLogin, PROCESS_ROLES, type ServiceProcess } from '../db/service-login.js';
import { serviceLogger } from '../config/logging.js';

/**
 * `npm run migrate`: applies sql/ as the schema's owner, DATABASE_MIGRATION_URL (else DATABASE_URL). Production
 * deploys run it before the new processes, which log in with a role that may not change the schema.
 */
const log = serviceLogger('migrate');
const ownerUrl = process.env.DATABASE_MIGRATION_URL ?? process.env.DATABASE_URL;
if (!ownerUrl) {
  log.fatal('set DATABASE_MIGRATION_URL (or DATABASE_URL) to the schema owner’s postgres:// URL');
  process.exit(1);
}
async function main(url: string) {
  const applied = await migrate(url, log);
  log.info({ applied }, applied.length ? 'migrations applied' : 'schema is up to date');
  // With WORKER_DB_USER and WORKER_DB_PASSWORD (API_DB_USER and API_DB_PASSWORD): the worker's (the API's) login,
  // with the rows that process needs and nothing more (sql/0021).
  const logins: Array<[ServiceProcess, string | undefined, string | undefined]> = [
    ['worker', process.env.WORKER_DB_USER, process.env.WORKER_DB_PASSWORD],
    ['api', process.env.API_DB_USER, process.env.API_DB_PASSWORD],
  ];
  for (const [serviceProcess, name, password] of logins) {
    if (!name && !password) continue;
    if (!name || !password) throw new Error(`set both the user and the password of the ${serviceProcess}'s login`);
    await ensureProcessLogin(url, serviceProcess, { name, password });
    log.info({ login: name, role: PROCESS_ROLES[serviceProcess] }, `${serviceProcess} login ready`);
  }
  if (process.env.SERVICE_DB_USER) {
    log.warn('SERVICE_DB_USER is not read: the worker and the API have a login each (WORKER_DB_*, API_DB_*)');
  }
}

main(ownerUrl).catch((error: unknown) => {
  log.fatal({ err: error }, 'migration failed');
  process.exit(1);
});

import { migrate } from '../db/migrate.js';
import { ensureServiceLogin } from '../db/service-login.js';
import { createLogger } from '../lib/logger.js';

/**
 * `npm run migrate`: applies sql/ as the schema's owner, DATABASE_MIGRATION_URL (else DATABASE_URL). Production
 * deploys run it before the new processes, which log in with a role that may not change the schema.
 */
const log = createLogger('migrate');
const ownerUrl = process.env.DATABASE_MIGRATION_URL ?? process.env.DATABASE_URL;
if (!ownerUrl) {
  log.fatal('set DATABASE_MIGRATION_URL (or DATABASE_URL) to the schema owner’s postgres:// URL');
  process.exit(1);
}
async function main(url: string) {
  const applied = await migrate(url, log);
  log.info({ applied }, applied.length ? 'migrations applied' : 'schema is up to date');
  // With SERVICE_DB_USER and SERVICE_DB_PASSWORD: the login the service's processes use, with row access only.
  const { SERVICE_DB_USER: name, SERVICE_DB_PASSWORD: password } = process.env;
  if (name && password) {
    await ensureServiceLogin(url, { name, password });
    log.info({ role: name }, 'service login ready');
  }
}

main(ownerUrl).catch((error: unknown) => {
  log.fatal({ err: error }, 'migration failed');
  process.exit(1);
});

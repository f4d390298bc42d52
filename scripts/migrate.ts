import { readProcessEnv } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createLogger } from '../lib/logger.js';

/** `npm run migrate`: applies sql/ to DATABASE_URL (production deploys run this before the new processes). */
const log = createLogger('migrate');
const { DATABASE_URL } = readProcessEnv({ TEMPORAL_ADDRESS: 'unused:0', ...process.env });
migrate(DATABASE_URL, log)
  .then((applied) => log.info({ applied }, applied.length ? 'migrations applied' : 'schema is up to date'))
  .catch((error: unknown) => {
    log.fatal({ err: error }, 'migration failed');
    process.exit(1);
  });

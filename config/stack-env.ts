import { z } from 'zod';
import { ConfigError } from './env.js';

const port = z.coerce.number().int().min(1).max(65535);

/** Settings of the embedded stack `npm start` runs: where data lives and which ports the local servers take. */
const stackEnvSchema = z.object({
  DATA_DIR: z.string().min(1).default('.data'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  LOCAL_PG_PORT: port.default(55432),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3001),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  // `dev`: the Temporal CLI's dev server (SQLite, one shard). `server`: Temporal's production server on PostgreSQL.
  TEMPORAL_TOPOLOGY: z.enum(['dev', 'server']).default('dev'),
});

export type StackEnv = z.infer<typeof stackEnvSchema>;

export function readStackEnv(source: NodeJS.ProcessEnv = process.env): StackEnv {
  const parsed = stackEnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

import { z } from 'zod';

/**
 * Every setting the processes read, parsed once. A wrong value stops the process at start
 * with a message naming the variable, instead of failing later in some request.
 */
const port = z.coerce.number().int().min(1).max(65535);

const processEnvSchema = z.object({
  DATABASE_URL: z.string().url({ message: 'must be a postgres:// URL' }),
  TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, { message: 'must be host:port' }),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('wa-accounts'),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3001),
  // The real whatsapp-web.js engine lands in its own change; until then the simulated engine is the only one.
  WA_ENGINE: z.enum(['simulated']).default('simulated'),
  // The seed's backend called its Node service on loopback without a key; allow that on loopback only.
  SEED_API_LOOPBACK_WITHOUT_KEY: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ProcessEnv = z.infer<typeof processEnvSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError that lists every bad variable. */
export function readProcessEnv(source: NodeJS.ProcessEnv = process.env): ProcessEnv {
  const parsed = processEnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

import { isIP } from 'node:net';
import { z } from 'zod';
import { WEB_VERSION_PATTERN } from '../domain/web-version.js';
import { parseKeyring } from '../lib/keyring.js';
import { accountTimingsSchema } from './account-settings.js';
import { parseWebBuildDigests } from './web-build-digests.js';

/**
 * Every setting the processes read, parsed once. A wrong value stops the process at start
 * with a message naming the variable, instead of failing later in some request.
 */
const port = z.coerce.number().int().min(1).max(65535);

export const webVersionSchema = z
  .string()
  .regex(new RegExp(WEB_VERSION_PATTERN), { message: 'must be a WhatsApp Web build such as 2.3000.1017054665' });

const processEnvSchema = z
  .object({
    DATABASE_URL: z.string().url({ message: 'must be a postgres:// URL' }),
    // The schema owner's URL, for migrations only; the service itself logs in with DATABASE_URL (row access only).
    DATABASE_MIGRATION_URL: z.string().url({ message: 'must be a postgres:// URL' }).optional(),
    TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, { message: 'must be host:port' }),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    // TLS to Temporal's frontend (lib/temporal-tls.ts): files in PEM; with CERT and KEY, mutual TLS.
    TEMPORAL_TLS_CA: z.string().min(1).optional(),
    TEMPORAL_TLS_CERT: z.string().min(1).optional(),
    TEMPORAL_TLS_KEY: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    TASK_QUEUE: z.string().min(1).default('wa-accounts'),
    // Traces over OTLP/HTTP (lib/tracing.ts): the collector's base URL (…/v1/traces is added); unset, no tracing.
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url({ message: 'must be an http(s) URL' }).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),
    // How long the audit log keeps an entry; at least a day (the table itself keeps younger ones).
    AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
    // Set by the supervisor (`npm start`, the test runner) on the processes it starts: they stop when it is gone.
    WA_SUPERVISED: z
      .enum(['0', '1'])
      .default('0')
      .transform((value) => value === '1'),
    // The service's keys (lib/keyring.ts): `id:base64,...`, the active one first. `npm start` makes one in .data/.
    ENCRYPTION_KEYS: z
      .string({ required_error: 'is required: id:base64 of 32 random bytes (npm run keys -- new-key)' })
      .superRefine((value, context) => {
        try {
          parseKeyring(value);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    API_HOST: z.string().min(1).default('127.0.0.1'),
    API_PORT: port.default(3001),
    // `real`: whatsapp-web.js in Chromium. `simulated`: the simulated engine (tests, load runs, demos).
    WA_ENGINE: z.enum(['real', 'simulated']).default('real'),
    // With the real engine: `whatsapp` reaches web.whatsapp.com; `standin` loads the offline stand-in page.
    WA_WEB: z.enum(['whatsapp', 'standin']).default('whatsapp'),
    CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
    // `auto`: sandboxed wherever the host allows it (not as root); `on`: refuse to start without it.
    CHROMIUM_SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
    // Chromium's own host resolution (its --host-resolver-rules): e.g. `MAP web.whatsapp.com 10.0.0.5` behind a
    // gateway, or `MAP * ~NOTFOUND` to keep a host with no way out from trying.
    CHROMIUM_HOST_RESOLVER_RULES: z.string().min(1).optional(),
    ENGINE_DATA_DIR: z.string().min(1).default('.data/engine'),
    // The WhatsApp Web build every session loads (accounts may pin their own): e.g. `2.3000.1017054665`. Unset: the
    // library's default build, or the one WhatsApp serves. docs/operations.md: "When WhatsApp ships a build that
    // breaks login".
    WA_WEB_VERSION: webVersionSchema.optional(),
    // Where pinned builds come from: `local` (ENGINE_DATA_DIR/web-cache, where every build served once is kept),
    // `remote` (WA_WEB_VERSION_REMOTE_PATH, a URL with {version}), `none` (always WhatsApp's current build).
    WA_WEB_VERSION_CACHE: z.enum(['local', 'remote', 'none']).default('local'),
    WA_WEB_VERSION_REMOTE_PATH: z
      .string()
      .url({ message: 'must be a URL' })
      .refine((value) => value.includes('{version}'), 'must contain {version}')
      // A build is the code WhatsApp Web's page runs with the session's login: never fetched over plain http.
      .refine((value) => value.startsWith('https://'), 'must be an https:// URL')
      .optional(),
    // The builds the remote cache may load, with their SHA-256 (config/web-build-digests.ts): `version=sha256,...`
    // or `@/path/to/file`, one a line. Every build fetched is checked; one not listed, or not matching, never runs.
    WA_WEB_VERSION_DIGESTS: z
      .string()
      .transform((value, context) => {
        try {
          return parseWebBuildDigests(value);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
    // A connected session's client is asked its state this often; one that does not answer CONNECTED within
    // ENGINE_CHECK_TIMEOUT_MS that many checks in a row is restarted from its saved login.
    ENGINE_CHECK_EVERY_MS: z.coerce.number().int().min(100).default(60_000),
    ENGINE_CHECK_TIMEOUT_MS: z.coerce.number().int().min(50).default(15_000),
    ENGINE_CHECK_MISSES: z.coerce.number().int().min(1).default(2),
    // A connected session whose browser holds more than this is restarted from its saved login at a quiet moment
    // (no engine event for ENGINE_RECYCLE_QUIET_MS, one at a time per host). 0: never.
    ENGINE_MEMORY_LIMIT_MB: z.coerce.number().int().nonnegative().default(1_024),
    ENGINE_RECYCLE_QUIET_MS: z.coerce.number().int().nonnegative().default(60_000),
    WA_LAUNCH_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
    // Sessions this worker hosts at most (default: for the real engine, 3/4 of the memory at SESSION_MEMORY_BUDGET_MB
    // each; for the simulated engine, 100,000).
    HOST_SESSION_CAPACITY: z.coerce.number().int().positive().optional(),
    SESSION_MEMORY_BUDGET_MB: z.coerce.number().int().positive().default(400),
    // Sessions this worker starts per second at most, restores included (default: 2 real, 200 simulated).
    HOST_SESSION_STARTS_PER_SECOND: z.coerce.number().positive().optional(),
    // A draining host (SIGTERM) hands its sessions over at its start pace for at most this long, then stops the rest.
    HOST_DRAIN_GRACE_MS: z.coerce.number().int().nonnegative().default(25_000),
    // How long a session lease holds without renewal: a dead host's sessions wait at most this for another host.
    SESSION_LEASE_TTL_MS: z.coerce.number().int().min(1_000).default(45_000),
    // The earlier Node service's backend called its Node service on loopback without a key. Off unless turned on; then from loopback
    // only, never through a proxy, and only for the workspaces LEGACY_API_WORKSPACES names.
    LEGACY_API_LOOPBACK_WITHOUT_KEY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    LEGACY_API_WORKSPACES: z.string().default(''),
    // Hosts exempt from the webhook network policy, reachable over plain http: development and tests only.
    WEBHOOK_ALLOWED_HOSTS: z.string().default(''),
    // Hosts (or addresses) an account's proxy may be on besides public addresses, e.g. an office proxy on 10.0.0.7:
    // a tenant names the proxy, so loopback, private and link-local addresses are refused unless listed here.
    PROXY_ALLOWED_HOSTS: z.string().default(''),
    // The timings of every account this worker runs, as JSON (domain/account-timings.ts): e.g. {"qrExpiryMs":120000}.
    // Each run of an account reads them once, when it starts. Unset: the defaults.
    ACCOUNT_TIMINGS: z
      .string()
      .transform((value, context) => {
        const parsed = accountTimingsSchema.safeParse(parseJson(value));
        if (parsed.success) return parsed.data;
        context.addIssue({
          code: 'custom',
          message: `must be a JSON object of account timings (${parsed.error.message})`,
        });
        return z.NEVER;
      })
      .optional(),
    // Development and tests only: a directory where an account may have settings of its own, in
    // <session key, URI-encoded>.json ({"timings": {...}, "continueAsNewAfterEvents": n}), over ACCOUNT_TIMINGS.
    ACCOUNT_SETTINGS_DIR: z.string().min(1).optional(),
    // Live accounts (neither failed nor deleted) a workspace may keep, unless an operator set its own limit.
    MAX_LIVE_ACCOUNTS_PER_WORKSPACE: z.coerce.number().int().nonnegative().default(100),
    // The bearer token Prometheus scrapes /metrics with; without one, only admin keys read /metrics.
    METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
    // Each account may start a Chromium: creating them has a budget of its own per key.
    ACCOUNT_CREATIONS_PER_MINUTE: z.coerce.number().int().positive().default(30),
    // Requests with an invalid or no credential one address may make per minute; past it, those are refused with 429
    // (a valid key from that address still passes).
    FAILED_AUTHENTICATIONS_PER_MINUTE: z.coerce.number().int().positive().default(30),
    // The proxies in front (TLS terminated there): addresses or CIDRs, comma-separated. Only their X-Forwarded-For and
    // X-Forwarded-Proto are believed; empty: none, every limit is per socket address.
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .refine((entries) => entries.every(isAddressOrCidr), 'must be IP addresses or CIDRs, comma-separated'),
    // Temporal's Web UI server (its public path /temporal), served by the API at /temporal behind an operator login;
    // it stays on loopback or the internal network, never published.
    TEMPORAL_UI_URL: z.string().url({ message: 'must be an http:// URL' }).optional(),
    // The address customers open onboarding links at (scheme, host, port; no trailing slash); unset, the links name
    // the address each request came to.
    PUBLIC_URL: z
      .string()
      .regex(/^https?:\/\/[^/?#\s]+$/, { message: 'must be an http(s) origin such as https://connect.example.com' })
      .optional(),
    OPERATOR_SESSION_HOURS: z.coerce.number().positive().max(24).default(8),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // `auto`: lines for people on a terminal, JSON otherwise (lib/logger.ts).
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  })
  .superRefine((env, context) => {
    if (env.WA_WEB_VERSION_CACHE === 'remote' && !env.WA_WEB_VERSION_REMOTE_PATH)
      context.addIssue({
        code: 'custom',
        path: ['WA_WEB_VERSION_REMOTE_PATH'],
        message: 'is required with the remote cache',
      });
    if (env.WA_WEB_VERSION_CACHE === 'remote' && !env.WA_WEB_VERSION_DIGESTS)
      context.addIssue({
        code: 'custom',
        path: ['WA_WEB_VERSION_DIGESTS'],
        message: 'is required with the remote cache: the SHA-256 of each build it may load',
      });
    if (env.WA_WEB_VERSION_CACHE === 'none' && env.WA_WEB_VERSION)
      context.addIssue({
        code: 'custom',
        path: ['WA_WEB_VERSION'],
        message: 'cannot be pinned with WA_WEB_VERSION_CACHE=none',
      });
  });

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

export type ProcessEnv = z.output<typeof processEnvSchema>;

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

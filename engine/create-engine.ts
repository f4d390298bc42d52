import type { DatabasePool } from 'slonik';
import type { ProcessEnv } from '../config/env.js';
import { EngineAuthStore } from '../db/engine-auth.js';
import { parseKeyring } from '../lib/keyring.js';
import type { Logger } from '../lib/logger.js';
import { readSimulatorSettings } from '../config/simulator-settings.js';
import { SimulatedEngine } from './simulated/simulated-engine.js';
import { chromiumFlags, decideSandboxAtStart, readSandboxFacts, type SandboxFacts } from './real/chromium-sandbox.js';
import { WhatsAppWebEngine } from './real/whatsapp-web-engine.js';
import type { Engine } from './types.js';
import { webhookPolicyFromEnv } from '../webhooks/network-policy.js';

/** The engine this worker process drives its WhatsApp sessions with, as WA_ENGINE says. */
export async function createEngine(
  env: ProcessEnv,
  pool: DatabasePool,
  log: Logger,
  /** What decides the Chromium sandbox: this host's, unless a test plays another host. */
  sandboxFacts: (chromiumPath: string) => SandboxFacts = readSandboxFacts,
): Promise<Engine> {
  // Saved logins are sealed with the keyring's saved-logins key before they reach PostgreSQL.
  const logins = new EngineAuthStore(pool, parseKeyring(env.ENCRYPTION_KEYS));
  switch (env.WA_ENGINE) {
    case 'simulated':
      return SimulatedEngine.create(
        pool,
        env.DATABASE_URL,
        readSimulatorSettings(),
        log.child({ engine: 'simulated' }),
        logins,
        env.WA_WEB_VERSION ?? null,
        webhookPolicyFromEnv(env.PROXY_ALLOWED_HOSTS),
      );
    case 'real': {
      const sandbox = decideSandboxAtStart(env.CHROMIUM_SANDBOX, sandboxFacts(env.CHROMIUM_PATH), log);
      return WhatsAppWebEngine.create(
        pool,
        env.DATABASE_URL,
        {
          chromiumPath: env.CHROMIUM_PATH,
          dataDir: env.ENGINE_DATA_DIR,
          standIn: env.WA_WEB === 'standin',
          launchTimeoutMs: env.WA_LAUNCH_TIMEOUT_MS,
          chromiumFlags: [
            ...chromiumFlags(sandbox),
            ...(env.CHROMIUM_HOST_RESOLVER_RULES ? [`--host-resolver-rules=${env.CHROMIUM_HOST_RESOLVER_RULES}`] : []),
          ],
          webVersion: env.WA_WEB_VERSION ?? null,
          proxyPolicy: webhookPolicyFromEnv(env.PROXY_ALLOWED_HOSTS),
          webVersionCache:
            env.WA_WEB_VERSION_CACHE === 'remote' && env.WA_WEB_VERSION_REMOTE_PATH && env.WA_WEB_VERSION_DIGESTS
              ? { type: 'remote', remotePath: env.WA_WEB_VERSION_REMOTE_PATH, digests: env.WA_WEB_VERSION_DIGESTS }
              : { type: env.WA_WEB_VERSION_CACHE === 'none' ? 'none' : 'local' },
        },
        log.child({ engine: 'real', web: env.WA_WEB }),
        logins,
      );
    }
  }
}

import type { DatabasePool } from 'slonik';
import { EngineAuthStore } from '../../db/engine-auth.js';
import { chromiumFlags, decideSandbox, readSandboxFacts } from '../../engine/real/chromium-sandbox.js';
import { WhatsAppWebEngine } from '../../engine/real/whatsapp-web-engine.js';
import { parseKeyring } from '../../lib/keyring.js';
import { STRICT_POLICY } from '../../webhooks/network-policy.js';
import { testLog, testStackEnv } from './context.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The real engine in the test's own process, as a worker runs it, against the WhatsApp Web stand-in: its browsers are
 * the test process's descendants, their profiles under `dataDir`.
 */
export async function realEngineInThisProcess(pool: DatabasePool, dataDir: string): Promise<WhatsAppWebEngine> {
  return WhatsAppWebEngine.create(
    pool,
    testStackEnv().databaseUrl,
    {
      chromiumPath: CHROMIUM,
      dataDir,
      standIn: true,
      launchTimeoutMs: 60_000,
      chromiumFlags: chromiumFlags(decideSandbox('auto', readSandboxFacts(CHROMIUM))),
      webVersion: null,
      webVersionCache: { type: 'local' },
      proxyPolicy: STRICT_POLICY,
    },
    testLog,
    new EngineAuthStore(pool, parseKeyring(process.env.ENCRYPTION_KEYS ?? '')),
  );
}

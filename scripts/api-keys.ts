import { parseArgs } from 'node:util';
import { readProcessEnv } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createDatabasePool } from '../db/pool.js';
import { createApiKey, revokeApiKey } from '../db/workspaces.js';
import { createLogger } from '../lib/logger.js';
import { keyringFromEnv, newKeyEntry } from '../lib/keyring.js';
import { EngineAuthStore } from '../db/engine-auth.js';
import { reencryptProxyCredentials } from '../db/proxy-settings.js';
import { reencryptWebhookSecrets } from '../db/webhook-secrets.js';

const USAGE = `usage:
  npm run keys -- create --workspace <id> [--name <label>]   a key for one workspace
  npm run keys -- create --admin [--name <label>]            an operator's key for every workspace
  npm run keys -- revoke <prefix>                            e.g. wak_0123456789ab
  npm run keys -- new-key [--name <id>]                      a new ENCRYPTION_KEYS entry (put it first to rotate)
  npm run keys -- reencrypt-logins                           seal every saved login with the active key
  npm run keys -- reencrypt-webhook-secrets                  seal every webhook signing secret with the active key
  npm run keys -- reencrypt-proxy-credentials                seal every proxy login with the active key
Reads DATABASE_URL (and ENCRYPTION_KEYS to re-encrypt). An API key is printed once; only its hash is stored.`;

/** `npm run keys`: issue and revoke API keys from a shell. */
async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { workspace: { type: 'string' }, admin: { type: 'boolean', default: false }, name: { type: 'string' } },
  });
  const [command, argument] = positionals;
  if (command === 'new-key') {
    process.stdout.write(`${newKeyEntry(values.name)}\n`);
    return 0;
  }
  const env = readProcessEnv({
    TEMPORAL_ADDRESS: 'unused:0',
    ENCRYPTION_KEYS: newKeyEntry(),
    ...process.env,
  });
  const log = createLogger('keys', 'warn');
  await migrate(env.DATABASE_URL, log);
  const pool = await createDatabasePool(env.DATABASE_URL, { maximumPoolSize: 1 });
  try {
    if (command === 'create' && (values.admin || values.workspace) && !(values.admin && values.workspace)) {
      const workspaceId = values.admin ? null : (values.workspace as string);
      if (workspaceId !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(workspaceId))
        throw new Error('--workspace: letters, digits, _ and -, at most 64');
      const { key, prefix } = await createApiKey(pool, {
        workspaceId,
        name: values.name ?? (workspaceId ? `workspace ${workspaceId}` : 'admin'),
      });
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `created ${prefix} (${workspaceId ? `workspace ${workspaceId}` : 'admin'}); store it now, it is not shown again\n`,
      );
      return 0;
    }
    if (command === 'reencrypt-logins') {
      // The keys of the deployment itself, never the placeholder above: they sealed the logins.
      const { moved, unreadable } = await new EngineAuthStore(pool, keyringFromEnv(process.env)).reencryptAll();
      process.stderr.write(`sealed ${moved} saved login(s) with the active key\n`);
      if (unreadable.length)
        process.stderr.write(`could not open (missing key or tampered): ${unreadable.join(', ')}\n`);
      return unreadable.length ? 1 : 0;
    }
    if (command === 'reencrypt-webhook-secrets') {
      // The deployment's own keys, as for the logins; secrets still in clear (from before sealing) are sealed too.
      const { moved, unreadable } = await reencryptWebhookSecrets(pool, keyringFromEnv(process.env));
      process.stderr.write(`sealed the webhook secrets of ${moved} workspace(s) with the active key\n`);
      if (unreadable.length)
        process.stderr.write(`could not open (missing key or tampered): ${unreadable.join(', ')}\n`);
      return unreadable.length ? 1 : 0;
    }
    if (command === 'reencrypt-proxy-credentials') {
      const { moved, unreadable } = await reencryptProxyCredentials(pool, keyringFromEnv(process.env));
      process.stderr.write(`sealed ${moved} proxy login(s) with the active key\n`);
      if (unreadable.length)
        process.stderr.write(`could not open (missing key or tampered): ${unreadable.join(', ')}\n`);
      return unreadable.length ? 1 : 0;
    }
    if (command === 'revoke' && argument) {
      const revoked = await revokeApiKey(pool, argument);
      process.stderr.write(revoked ? `revoked ${argument}\n` : `no active key ${argument}\n`);
      return revoked ? 0 : 1;
    }
    process.stderr.write(`${USAGE}\n`);
    return 2;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

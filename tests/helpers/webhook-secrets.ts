import type { DatabasePool } from 'slonik';
import { webhookSecrets } from '../../db/webhook-secrets.js';
import { updateWorkspaceWebhook } from '../../db/workspaces.js';
import { keyringFromEnv } from '../../lib/keyring.js';

/** Sets the workspace's webhook URL (rotating its secret when asked) and answers its signing secret, opened. */
export async function setWorkspaceWebhook(
  pool: DatabasePool,
  workspaceId: string,
  url: string | null,
  rotateSecret = false,
): Promise<string> {
  await updateWorkspaceWebhook(pool, workspaceId, url, rotateSecret);
  const secrets = await webhookSecrets(pool, keyringFromEnv(process.env), workspaceId);
  if (!secrets) throw new Error(`workspace ${workspaceId} has no webhook secret`);
  return secrets.current;
}

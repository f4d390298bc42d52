import type { DatabasePool } from 'slonik';
import { firstDeliveryId, webhookRoutes } from '../../db/webhook-deliveries.js';
import { webhookSecrets } from '../../db/webhook-secrets.js';
import { setWebhookSetting } from '../../db/webhook-endpoints.js';
import { ensureWorkspace, rotateWorkspaceWebhookSecret } from '../../db/workspaces.js';
import { keyringFromEnv } from '../../lib/keyring.js';

/** Sets the workspace's webhook URL (rotating its secret when asked) and answers its signing secret, opened. */
export async function setWorkspaceWebhook(
  pool: DatabasePool,
  workspaceId: string,
  url: string | null,
  rotateSecret = false,
): Promise<string> {
  await ensureWorkspace(pool, workspaceId);
  await setWebhookSetting(pool, { workspaceId, accountId: null, url });
  if (rotateSecret) await rotateWorkspaceWebhookSecret(pool, workspaceId);
  const secrets = await webhookSecrets(pool, keyringFromEnv(process.env), workspaceId);
  if (!secrets) throw new Error(`workspace ${workspaceId} has no webhook secret`);
  return secrets.current;
}

/** The first delivery of an event to the one endpoint it goes to, as the dispatcher would start it. */
export async function firstDeliveryOf(pool: DatabasePool, eventId: number) {
  const [route, ...others] = await webhookRoutes(pool, [eventId]);
  if (!route || others.length > 0)
    throw new Error(`event ${eventId} goes to ${others.length + (route ? 1 : 0)} endpoints`);
  return {
    eventId,
    endpointId: route.endpoint_id,
    deliveryId: firstDeliveryId(eventId, route.endpoint_id),
    kind: 'delivery' as const,
    attempt: 1,
  };
}

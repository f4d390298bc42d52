import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import type { Keyring } from '../lib/keyring.js';
import type { WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import type { AccountCreationGate } from './account-creation-rate.js';

/** What every route of a workspace works with: made once in api/app.ts, handed to each route group. */
export interface WorkspaceServices {
  pool: DatabasePool;
  temporal: Client;
  taskQueue: string;
  webhookPolicy: WebhookNetworkPolicy;
  /** Where an account's proxy may be: the same rules, PROXY_ALLOWED_HOSTS exempt. */
  proxyPolicy: WebhookNetworkPolicy;
  /** Live accounts a workspace may keep unless an operator set its own limit. */
  liveAccountLimit: number;
  /** Every route that creates an account calls it first. */
  accountCreationGate: AccountCreationGate;
  /** The WhatsApp Web build the service pins for every account that pins none (WA_WEB_VERSION), or null. */
  serviceWebVersion: string | null;
  /** Opens and seals the workspace's webhook signing secrets, and signs its onboarding links. */
  keyring: Keyring;
  /** The address customers open onboarding links at (PUBLIC_URL); null: the address the request came to. */
  publicUrl: string | null;
}

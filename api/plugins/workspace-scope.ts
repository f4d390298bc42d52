import type { FastifyInstance } from 'fastify';
import type { WorkspaceServices } from '../workspace-services.js';
import { accountNotFound, workspaceNotFound } from '../account-access.js';
import accountActionsPlugin from './account-actions.js';
import { workspaceAuditPlugin } from './audit-log.js';
import accountDiagnosticsPlugin from './account-diagnostics.js';
import accountScreenshotPlugin from './account-screenshot.js';
import accountLoginPlugin from './account-login.js';
import linkedDevicePlugin from './linked-device.js';
import onboardingLinksPlugin from './onboarding-links.js';
import profilePicturePlugin from './profile-picture.js';
import proxyPlugin from './proxy.js';
import accountsPlugin from './accounts.js';
import { assertWorkspaceAccess } from './auth.js';
import { workspaceStuckAccountsPlugin } from './stuck-accounts.js';
import webhookDeliveriesPlugin from './webhook-deliveries.js';
import webhookEndpointsPlugin from './webhook-endpoints.js';
import webhooksPlugin from './webhooks.js';
import webVersionPlugin from './web-version.js';

/**
 * Everything under /v1/workspaces/:workspaceId: the access check runs once here, for every route of the group. A key
 * of another workspace gets the same 404 as for a workspace or an account that does not exist.
 */
export default async function workspaceScopePlugin(app: FastifyInstance, deps: WorkspaceServices) {
  app.addHook('preHandler', async (request) => {
    const params = request.params as { workspaceId: string; sessionId?: string };
    const notFound = () =>
      params.sessionId === undefined
        ? workspaceNotFound(params.workspaceId)
        : accountNotFound({ workspaceId: params.workspaceId, sessionId: params.sessionId });
    assertWorkspaceAccess(request, params.workspaceId, notFound);
  });
  // The children get the services alone: the group's prefix in their options would be added a second time.
  const services: WorkspaceServices = {
    pool: deps.pool,
    temporal: deps.temporal,
    taskQueue: deps.taskQueue,
    webhookPolicy: deps.webhookPolicy,
    proxyPolicy: deps.proxyPolicy,
    liveAccountLimit: deps.liveAccountLimit,
    accountCreationGate: deps.accountCreationGate,
    serviceWebVersion: deps.serviceWebVersion,
    keyring: deps.keyring,
    publicUrl: deps.publicUrl,
  };
  for (const plugin of [
    accountsPlugin,
    accountLoginPlugin,
    accountActionsPlugin,
    accountDiagnosticsPlugin,
    accountScreenshotPlugin,
    workspaceStuckAccountsPlugin,
    webhooksPlugin,
    webhookEndpointsPlugin,
    webhookDeliveriesPlugin,
    webVersionPlugin,
    linkedDevicePlugin,
    profilePicturePlugin,
    proxyPlugin,
    onboardingLinksPlugin,
    workspaceAuditPlugin,
  ]) {
    await app.register(plugin, services);
  }
}

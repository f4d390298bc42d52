import type { createAccountSettingsActivities } from './account-settings.js';
import type { createAccountStoreActivities } from './account-store.js';
import type { createEngineSessionActivities } from './engine-sessions.js';
import type { createPlacementActivities } from './placement.js';
import type { createSessionLeaseActivities } from './session-leases.js';
import type { createWebBuildCanaryActivities } from './web-build-canaries.js';
import type { createWebhookActivities } from './webhooks.js';

export { createAccountSettingsActivities, workerAccountSettings } from './account-settings.js';
export { createAccountStoreActivities } from './account-store.js';
export { createEngineSessionActivities } from './engine-sessions.js';
export { createPlacementActivities } from './placement.js';
export { createSessionLeaseActivities } from './session-leases.js';
export { createWebBuildCanaryActivities } from './web-build-canaries.js';
export { createWebhookActivities } from './webhooks.js';

// Workflows import these only as types: the activities themselves run in the worker, outside the sandbox.
/** Row writes, on the shared queue (any worker). */
export type AccountStoreActivities = ReturnType<typeof createAccountStoreActivities>;
/** The account workflow's timings, a local activity of the worker that runs it. */
export type AccountSettingsActivities = ReturnType<typeof createAccountSettingsActivities>;
/** Requests to a session's host written on its lease (a local activity of the account). */
export type SessionLeaseActivities = ReturnType<typeof createSessionLeaseActivities>;
/** Host placement, on the shared queue: whichever worker answers hosts the session. */
export type PlacementActivities = ReturnType<typeof createPlacementActivities>;
export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
export type WebBuildCanaryActivities = ReturnType<typeof createWebBuildCanaryActivities>;
/** Activities pinned to the worker process that holds a session, on its host queue. */
export type EngineSessionActivities = ReturnType<typeof createEngineSessionActivities>;

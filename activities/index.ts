import type { createAccountStoreActivities } from './account-store.js';
import type { createEngineSessionActivities } from './engine-sessions.js';
import type { createHostActivities } from './hosts.js';
import type { createWebhookActivities } from './webhooks.js';

export { createAccountStoreActivities } from './account-store.js';
export { createEngineSessionActivities } from './engine-sessions.js';
export { createHostActivities } from './hosts.js';
export { createWebhookActivities } from './webhooks.js';

/** Activities any worker runs, on the shared queue. Workflows import these only as types. */
export type SharedActivities = ReturnType<typeof createAccountStoreActivities> & ReturnType<typeof createHostActivities> & WebhookActivities;
export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
/** Activities pinned to the worker process that holds a session, on its host queue. */
export type HostQueueActivities = ReturnType<typeof createEngineSessionActivities>;

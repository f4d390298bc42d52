import type { createAccountStoreActivities } from './account-store.js';
import type { createHostActivities, createHostQueueActivities } from './hosts.js';

export { createAccountStoreActivities } from './account-store.js';
export { createHostActivities, createHostQueueActivities } from './hosts.js';

/** Activities any worker runs, on the shared queue. Workflows import these only as types. */
export type SharedActivities = ReturnType<typeof createAccountStoreActivities> & ReturnType<typeof createHostActivities>;
/** Activities pinned to one worker process, on its host queue. */
export type HostQueueActivities = ReturnType<typeof createHostQueueActivities>;

import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Loaded by path into the workflow sandbox (lib/payload-encryption.ts): failure messages and stack traces travel in
 * the encrypted payload, not in clear beside it.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

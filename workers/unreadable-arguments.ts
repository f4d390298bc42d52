import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { isUnreadablePayload } from '../lib/unreadable-payload.js';

/**
 * An activity whose arguments the codec could not read (lib/payload-encryption.ts decodes them to a marker: written
 * under a key this process does not hold yet, in the middle of a key rotation, say) fails its attempt without running
 * and is retried under its retry policy, as when the codec threw: it never acts on the marker in place of its input.
 */
export const refuseUnreadableArguments: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      const unreadable = input.args.find(isUnreadablePayload);
      if (unreadable) {
        throw ApplicationFailure.retryable(
          `an argument is unreadable (${unreadable.unreadablePayload})`,
          'UnreadablePayload',
        );
      }
      return next(input);
    },
  },
});

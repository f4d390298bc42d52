import type { EngineSession, EngineStartOptions } from './types.js';

/**
 * A start that failed before any client ran (a build refused, a proxy that carries nothing): the session ends at once
 * as a dropped start, so the account retries it and its detail reads `reason`.
 */
export function failedStartSession(options: EngineStartOptions, reason: string, message: string): EngineSession {
  const notStarted = () => Promise.reject(new Error(`WhatsApp Web did not start: ${message}`));
  setImmediate(() =>
    options.onEvent({ type: 'disconnected', kind: 'transient', reason: `${reason}:${message.slice(0, 200)}` }),
  );
  return {
    sessionId: options.sessionId,
    ownIdentity: () => Promise.resolve(null),
    resolveLid: () => Promise.resolve(null),
    requestPairingCode: notStarted,
    logout: () => Promise.resolve(),
    destroy: () => Promise.resolve(),
    state: () => Promise.resolve(null),
    webVersion: () => Promise.resolve(null),
    memoryBytes: () => Promise.resolve(null),
    profilePicture: () => Promise.resolve(null),
    screenshot: notStarted,
  };
}

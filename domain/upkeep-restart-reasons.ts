/**
 * Why a host restarted a session itself: the reason its owner hears with the `disconnected`, and what the metrics
 * count restarts by.
 */
export const UPKEEP_RESTART_REASONS = { unresponsive: 'unresponsive', memory: 'memory_recycle' } as const;

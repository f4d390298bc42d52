import { createLogger, type Logger } from '../lib/logger.js';

/** A service process's logger: LOG_LEVEL (default info) and LOG_FORMAT (json, pretty; default: pretty on a terminal). */
export function serviceLogger(component: string, source: NodeJS.ProcessEnv = process.env): Logger {
  return createLogger(component, source.LOG_LEVEL ?? 'info', source.LOG_FORMAT);
}

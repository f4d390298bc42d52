import { pino, type Logger } from 'pino';

/** One structured (JSON) logger per process; `component` tells the lines of worker, API and stack apart. */
export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component, pid: process.pid } });
}

export type { Logger };

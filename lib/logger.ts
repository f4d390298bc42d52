import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

/**
 * One structured logger per process; `component` tells the lines of worker, API and stack apart. On a terminal
 * (`npm start` in a shell) the lines are printed for people by pino's own pretty printer; anywhere else (a log
 * file, a collector, a pipe) they stay JSON, one object per line. `format` (json or pretty) decides instead; the
 * service's processes take both from LOG_LEVEL and LOG_FORMAT (config/logging.ts).
 */
export function createLogger(component: string, level = 'info', format?: string): Logger {
  const options = { level, base: { component, pid: process.pid } };
  if (!prettyLines(format, process.stdout.isTTY === true)) return pino(options);
  return pino(
    options,
    // Colours when the terminal takes them (NO_COLOR turns them off); the process's part leads each message.
    PinoPretty({
      sync: true,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname,component',
      messageFormat: '{component}: {msg}',
    }),
  );
}

/** Pretty lines for a person at a terminal, unless LOG_FORMAT says otherwise. */
export function prettyLines(format: string | undefined, stdoutIsTerminal: boolean): boolean {
  if (format === 'json') return false;
  if (format === 'pretty') return true;
  return stdoutIsTerminal;
}

export type { Logger };

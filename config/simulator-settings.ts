import { z } from 'zod';

/**
 * How the simulated WhatsApp behaves, in milliseconds of real WhatsApp Web time; SIM_TIME_SCALE shrinks every
 * delay at once (tests run at 0.01, a demo at 1).
 */
const settingsSchema = z.object({
  SIM_TIME_SCALE: z.coerce.number().positive().default(1),
  SIM_FIRST_QR_DELAY_MS: z.coerce.number().int().nonnegative().default(2_000),
  SIM_FIRST_QR_TTL_MS: z.coerce.number().int().positive().default(60_000),
  SIM_QR_TTL_MS: z.coerce.number().int().positive().default(20_000),
  SIM_READY_DELAY_MS: z.coerce.number().int().nonnegative().default(1_500),
  SIM_RESTORE_DELAY_MS: z.coerce.number().int().nonnegative().default(1_000),
  // What a simulated session's browser holds, as the real engine measured one (docs/benchmarks.md).
  SIM_SESSION_MEMORY_MB: z.coerce.number().int().nonnegative().default(220),
  // WhatsApp Web builds whose page never loads (a build WhatsApp broke): a session on one never offers a login nor
  // connects. Comma-separated, e.g. to try a canary rollback.
  SIM_BROKEN_WEB_VERSIONS: z.string().default(''),
});

export interface SimulatorSettings {
  firstQrDelayMs: number;
  firstQrTtlMs: number;
  qrTtlMs: number;
  readyDelayMs: number;
  restoreDelayMs: number;
  sessionMemoryBytes: number;
  /** Builds on which the simulated page never loads. */
  brokenWebVersions: ReadonlySet<string>;
  /** Scales a per-action delay the same way as the settings. */
  scale(ms: number): number;
}

export function readSimulatorSettings(source: NodeJS.ProcessEnv = process.env): SimulatorSettings {
  const env = settingsSchema.parse(source);
  const scale = (ms: number) => Math.round(ms * env.SIM_TIME_SCALE);
  return {
    firstQrDelayMs: scale(env.SIM_FIRST_QR_DELAY_MS),
    firstQrTtlMs: scale(env.SIM_FIRST_QR_TTL_MS),
    qrTtlMs: scale(env.SIM_QR_TTL_MS),
    readyDelayMs: scale(env.SIM_READY_DELAY_MS),
    restoreDelayMs: scale(env.SIM_RESTORE_DELAY_MS),
    sessionMemoryBytes: env.SIM_SESSION_MEMORY_MB * 1024 * 1024,
    brokenWebVersions: new Set(
      env.SIM_BROKEN_WEB_VERSIONS.split(',')
        .map((version) => version.trim())
        .filter(Boolean),
    ),
    scale,
  };
}

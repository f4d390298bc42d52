import type { DatabasePool } from 'slonik';
import type { ProcessEnv } from '../config/env.js';
import type { Logger } from '../lib/logger.js';
import { readSimulatorSettings } from './simulated/settings.js';
import { SimulatedEngine } from './simulated/simulated-engine.js';
import type { Engine } from './types.js';

/** The engine this worker process drives its WhatsApp sessions with, as WA_ENGINE says. */
export async function createEngine(env: ProcessEnv, pool: DatabasePool, log: Logger): Promise<Engine> {
  switch (env.WA_ENGINE) {
    case 'simulated':
      return SimulatedEngine.create(pool, env.DATABASE_URL, readSimulatorSettings(), log.child({ engine: 'simulated' }));
  }
}

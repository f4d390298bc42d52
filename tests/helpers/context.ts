import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { createDatabasePool } from '../../db/pool.js';
import { createLogger } from '../../lib/logger.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';

/** What `npm test` hands every test file: a real PostgreSQL and a real Temporal dev server of its own. */
export function testStackEnv(): { databaseUrl: string; temporalAddress: string; dataDir: string; outputDir: string } {
  const databaseUrl = process.env.DATABASE_URL;
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!databaseUrl || !temporalAddress) {
    throw new Error('run the tests with `npm test`: it starts the PostgreSQL and Temporal server they need');
  }
  return {
    databaseUrl,
    temporalAddress,
    dataDir: process.env.TEST_DATA_DIR ?? '.data/test',
    outputDir: process.env.TEST_OUTPUT_DIR ?? 'test-output',
  };
}

export const testLog = createLogger('test', process.env.LOG_LEVEL ?? 'warn');

/**
 * A pool for a test's own writes. With `taskQueue`, the account events it writes are this queue's to deliver: no
 * other test's worker claims them from the shared webhook outbox (one that names none is any worker's).
 */
export async function openPool(options: { taskQueue?: string } = {}): Promise<DatabasePool> {
  return createDatabasePool(testStackEnv().databaseUrl, { maximumPoolSize: 5, ...options });
}

export async function openTemporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: testStackEnv().temporalAddress });
  return {
    client: new Client({ connection, dataConverter: dataConverterFromEnv(process.env) }),
    close: () => connection.close(),
  };
}

/** Ids unique to one test, so tests share a database without seeing each other's rows. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Polls until `probe` returns a value that is not undefined; a generous upper bound, never a timing assertion. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/**
 * The key every test run uses (a test key, in the repository): the histories the tests record, and the
 * fixtures made from them, stay readable by later runs.
 */
export async function fixtureKeys(): Promise<string> {
  return (await readFile(new URL('../fixtures/encryption-keys.txt', import.meta.url), 'utf8')).trim();
}

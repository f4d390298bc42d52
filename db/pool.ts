import { createPool, createTypeParserPreset, SchemaValidationError, type DatabasePool, type Interceptor } from 'slonik';

/**
 * Validates every row of a query built with `sql.type(zodSchema)` against its schema, so a column that changed
 * under the code fails loudly at the query instead of somewhere downstream.
 */
const resultParserInterceptor: Interceptor = {
  name: 'zod-result-parser',
  transformRowAsync: async (context, query, row) => {
    const { resultParser } = context;
    if (!resultParser) return row;
    const parsed = await resultParser.safeParseAsync(row);
    if (!parsed.success) throw new SchemaValidationError(query, row, parsed.error.issues);
    return parsed.data as typeof row;
  },
};

export interface PoolOptions {
  maximumPoolSize?: number;
  /**
   * The Temporal task queue this process starts work on: each connection says it (`wa.task_queue`), so an event's
   * webhook outbox row names the queue of the process that wrote it (sql/0030) and its delivery starts there.
   */
  taskQueue?: string;
}

/** The URL with `-c wa.task_queue=...` among its connection options; spaces and backslashes escaped as libpq asks. */
function withTaskQueue(databaseUrl: string, taskQueue: string | undefined): string {
  if (taskQueue === undefined) return databaseUrl;
  const url = new URL(databaseUrl);
  const setting = `-c wa.task_queue=${taskQueue.replace(/[\\ ]/g, (character) => `\\${character}`)}`;
  const options = url.searchParams.get('options');
  url.searchParams.set('options', options ? `${options} ${setting}` : setting);
  return url.toString();
}

export async function createDatabasePool(databaseUrl: string, options: PoolOptions = {}): Promise<DatabasePool> {
  return createPool(withTaskQueue(databaseUrl, options.taskQueue), {
    interceptors: [resultParserInterceptor],
    // Ids and counts stay far below 2^53: plain numbers serialize to JSON and into Temporal payloads as they are.
    typeParsers: [
      ...createTypeParserPreset().filter((parser) => parser.name !== 'int8'),
      { name: 'int8', parse: (value: string) => Number.parseInt(value, 10) },
    ],
    maximumPoolSize: options.maximumPoolSize ?? 10,
    connectionTimeout: 5_000,
    statementTimeout: 30_000,
    idleTimeout: 10_000,
    // A process frozen inside a transaction (SIGSTOP, a long pause) loses it after 10 s, and its row locks with it:
    // a paused host cannot keep another from taking its sessions' leases.
    idleInTransactionSessionTimeout: 10_000,
    // Transactions that lose a serialization race are retried by the caller (an activity), not silently here.
    transactionRetryLimit: 0,
    queryRetryLimit: 0,
    // Slonik resets a connection with `DISCARD ALL` each time it goes back to the pool: a round trip per query, a
    // quarter of the statements a connection costs PostgreSQL (docs/benchmarks.md). These connections hold no session
    // state to discard: their settings are startup parameters (kept by a reset anyway), their locks are transaction
    // locks, and LISTEN and the migrations' session lock run on connections of their own (lib/pg-listener.ts,
    // db/migrate.ts), outside any pool.
    resetConnection: async () => undefined,
  });
}

export type { DatabasePool };

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { startLocalPostgres, type RunningPostgres } from '../../infra/local-postgres.js';
import { findFreePort } from '../../infra/ports.js';
import { resolveTemporalCli } from '../../infra/temporal-cli.js';
import {
  resolveTemporalServer,
  startTemporalServer,
  temporalStartFailure,
  type TemporalServerOptions,
} from '../../infra/temporal-server.js';
import { testLog, testStackEnv } from '../helpers/context.js';

describe("why Temporal's server did not start", () => {
  it("names the server's own fatal line, not the stack trace that follows it", () => {
    const log = [
      '2026/12/01 18:12:47 Loading config; env=production',
      JSON.stringify({ level: 'info', msg: 'starting' }),
      JSON.stringify({
        level: 'fatal',
        msg: 'Failed to start gRPC listener',
        error: 'listen tcp 127.0.0.1:23456: bind: address already in use',
        service: 'history',
        stacktrace: 'go.uber.org/dig.paramObjectField.Build\n\t/root/go/pkg/mod/go.uber.org/dig@v1.18.0/param.go:485',
      }),
    ].join('\n');
    assert.equal(
      temporalStartFailure(log),
      'Failed to start gRPC listener: listen tcp 127.0.0.1:23456: bind: address already in use (history)',
    );
  });

  it('falls back to the end of a log that has no error line', () => {
    assert.equal(temporalStartFailure('panic: something\n'), 'panic: something');
    assert.equal(temporalStartFailure(''), 'nothing in its log');
  });
});

/**
 * The server keeps its internal ports per data directory so that a restart finds its own members again; anything on
 * the machine may take one of them while it is stopped (or between choosing a port and binding it).
 */
describe("Temporal's production server on ports taken meanwhile", { timeout: 600_000 }, () => {
  let postgres: RunningPostgres | undefined;
  let options: TemporalServerOptions;
  const squatters: Server[] = [];

  before(async () => {
    const dir = join(testStackEnv().dataDir, `temporal-ports-${process.pid}`);
    postgres = await startLocalPostgres({
      dataDir: join(dir, 'postgres'),
      port: await findFreePort(),
      database: 'temporal_ports',
      log: testLog,
      durable: false,
    });
    const [binaries, cliPath] = await Promise.all([resolveTemporalServer(testLog), resolveTemporalCli(testLog)]);
    options = {
      binaries,
      cliPath,
      postgresOwnerUrl: postgres.url,
      dataDir: join(dir, 'server'),
      port: await findFreePort(),
      uiPort: null,
      namespace: 'default',
      log: testLog,
    };
  });
  after(async () => {
    for (const squatter of squatters) squatter.close();
    await postgres?.stop();
  });

  it('a restart whose kept history port another process holds starts on other ports and answers', async () => {
    const first = await startTemporalServer(options);
    await first.stop();
    const kept = JSON.parse(await readFile(join(options.dataDir, 'ports.json'), 'utf8')) as Record<string, number>;
    const historyPort = kept.TEMPORAL_HISTORY_PORT;
    assert.ok(historyPort, 'the first start kept its ports');
    assert.equal(new Set(Object.values(kept)).size, Object.keys(kept).length, 'no two services share a port');
    const squatter = createServer();
    squatters.push(squatter);
    await new Promise<void>((resolve) => squatter.listen(historyPort, '127.0.0.1', resolve));

    const second = await startTemporalServer(options);
    try {
      const now = JSON.parse(await readFile(join(options.dataDir, 'ports.json'), 'utf8')) as Record<string, number>;
      assert.notEqual(now.TEMPORAL_HISTORY_PORT, historyPort, 'the taken port was replaced');
      assert.equal(second.address, first.address, 'the frontend, which clients know, stays where it was');
      const connection = await Connection.connect({ address: second.address });
      try {
        assert.ok(await connection.workflowService.getSystemInfo({}));
      } finally {
        await connection.close();
      }
    } finally {
      await second.stop();
    }
  });
});

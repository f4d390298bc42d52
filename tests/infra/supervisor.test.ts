import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startChild } from '../../lib/child-process.js';
import {
  DEFAULT_RESTART_POLICY,
  isErrorLine,
  restartDelayMs,
  SupervisedProcess,
  type RestartPolicy,
} from '../../infra/supervisor.js';
import { eventually } from '../helpers/context.js';

/** The supervisor's own log lines, kept to be read back. */
function recordingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[0]) });
  return { log, lines };
}

describe('supervision: a service process that exits is restarted with backoff', () => {
  it('the delay doubles with each quick exit, up to its cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((exits) => restartDelayMs(DEFAULT_RESTART_POLICY, exits));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('error lines are what a crash loop reports: stderr, and log lines at error or fatal', () => {
    assert.ok(isErrorLine('Error: listen EADDRINUSE', 'stderr'));
    assert.ok(isErrorLine('{"level":50,"msg":"worker failed"}', 'stdout'));
    assert.ok(isErrorLine('[11:02:03.123] FATAL (worker): worker failed', 'stdout'));
    assert.ok(!isErrorLine('{"level":30,"msg":"worker running"}', 'stdout'));
  });

  it('a process that keeps crashing is restarted each time, later each time, and the crash loop is reported with its last error', async () => {
    const { log, lines } = recordingLogger();
    const policy: RestartPolicy = { baseDelayMs: 100, maxDelayMs: 400, stableAfterMs: 10_000, crashLoopExits: 4 };
    const startedAt: number[] = [];
    const supervised = new SupervisedProcess(
      'crasher',
      (onLine) => {
        startedAt.push(Date.now());
        return startChild({
          name: 'crasher',
          command: process.execPath,
          args: ['-e', `console.error('boom ${startedAt.length}'); process.exit(3)`],
          onLine,
        });
      },
      log,
      policy,
    );
    try {
      await eventually(async () => (startedAt.length >= 6 ? true : undefined), 15_000, 'six starts');
    } finally {
      await supervised.stop('SIGTERM', 1_000);
    }
    const gaps = startedAt.slice(1, 6).map((at, index) => at - (startedAt[index] as number));
    // 100, 200, 400, 400, 400 ms of backoff, each plus the time a Node process takes to start and crash.
    for (const [index, expected] of [100, 200, 400, 400, 400].entries()) {
      assert.ok((gaps[index] as number) >= expected, `restart ${index + 1} waited ${gaps[index]} ms (≥ ${expected})`);
    }
    const loop = lines.find((line) => line.msg === 'crasher is crash-looping; restarting');
    assert.ok(loop, 'the crash loop is reported');
    assert.equal(loop.exitsInARow, 4);
    assert.equal(loop.code, 3);
    assert.match(String(loop.lastError), /^boom \d$/);
  });

  it('stop ends it: no restart after the supervisor asked it to stop', async () => {
    const { log } = recordingLogger();
    let starts = 0;
    const supervised = new SupervisedProcess(
      'sleeper',
      (onLine) => {
        starts += 1;
        return startChild({
          name: 'sleeper',
          command: process.execPath,
          args: ['-e', 'setTimeout(() => {}, 60_000)'],
          onLine,
        });
      },
      log,
      { ...DEFAULT_RESTART_POLICY, baseDelayMs: 50 },
    );
    await supervised.stop('SIGTERM', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(starts, 1);
    assert.notEqual(supervised.handle.process.signalCode, null, 'the process was stopped by the signal');
  });
});

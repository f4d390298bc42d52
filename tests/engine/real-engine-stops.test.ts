import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { chromiumPids } from '../../engine/real/chromium-memory.js';
import { profileName } from '../../engine/real/postgres-auth.js';
import type { WhatsAppWebEngine } from '../../engine/real/whatsapp-web-engine.js';
import type { EngineEvent, EngineSession } from '../../engine/types.js';
import { sessionKey } from '../../domain/session-key.js';
import { eventually, openPool, testStackEnv, uniqueId } from '../helpers/context.js';
import { realEngineInThisProcess } from '../helpers/real-engine.js';

const HOST_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** The real engine in this process, as a worker runs it: its browsers are this process's descendants. */
describe(
  "the real engine's browsers stop with their sessions and leave the host's signals to the host",
  { timeout: 180_000 },
  () => {
    let pool: DatabasePool;
    let engine: WhatsAppWebEngine;
    const dataDir = resolve(testStackEnv().dataDir, uniqueId('engine-stops'));
    const running: EngineSession[] = [];
    const browserOf = (sessionId: string) =>
      chromiumPids(`--user-data-dir=${join(dataDir, 'sessions', profileName(sessionId))}`);

    before(async () => {
      pool = await openPool();
      engine = await realEngineInThisProcess(pool, dataDir);
    });
    after(async () => {
      for (const session of running) await session.destroy();
      await engine?.close();
      await pool?.end();
    });

    it("a session's browser adds no SIGTERM, SIGINT or SIGHUP listener: the host's drain decides when browsers close", async () => {
      const before = HOST_SIGNALS.map((signal) => process.listenerCount(signal));
      const sessionId = sessionKey(uniqueId('ws-signals'), uniqueId('signals'));
      const events: EngineEvent[] = [];
      running.push(await engine.start({ sessionId, onEvent: (event) => events.push(event) }));
      await eventually(async () => (events.some((event) => event.type === 'qr') ? true : undefined), 90_000, 'a QR');
      assert.ok((await browserOf(sessionId)).length > 0, 'the session runs its browser');
      assert.deepEqual(
        HOST_SIGNALS.map((signal) => process.listenerCount(signal)),
        before,
        `listeners of ${HOST_SIGNALS.join(', ')} before the browser and with it`,
      );
    });

    it('a session stopped before its browser is up never runs one, and sends no event after its stop', async () => {
      const stoppedId = sessionKey(uniqueId('ws-early-stop'), uniqueId('early-stop'));
      const stoppedEvents: EngineEvent[] = [];
      const stopped = await engine.start({ sessionId: stoppedId, onEvent: (event) => stoppedEvents.push(event) });
      assert.equal((await browserOf(stoppedId)).length, 0, 'no browser yet when the stop comes');
      await stopped.destroy();
      // Started after it and left running: once its browser shows a QR, the stopped one's start has had every chance
      // to launch a browser too.
      const witnessId = sessionKey(uniqueId('ws-early-stop'), uniqueId('witness'));
      const witnessEvents: EngineEvent[] = [];
      running.push(await engine.start({ sessionId: witnessId, onEvent: (event) => witnessEvents.push(event) }));

      await eventually(
        async () => (witnessEvents.some((event) => event.type === 'qr') ? true : undefined),
        90_000,
        'the witness’s QR',
      );
      // A few seconds more for a browser launched late to show up in /proc.
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        assert.deepEqual(await browserOf(stoppedId), [], 'no Chromium runs on the stopped session’s profile');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.deepEqual(
        stoppedEvents.map((event) => event.type),
        [],
        'no event of the stopped session',
      );
    });

    it('a session whose browser froze (SIGSTOP) still stops within a bounded time: its browser is killed', async () => {
      const sessionId = sessionKey(uniqueId('ws-frozen'), uniqueId('frozen'));
      const events: EngineEvent[] = [];
      const session = await engine.start({ sessionId, onEvent: (event) => events.push(event) });
      await eventually(async () => (events.some((event) => event.type === 'qr') ? true : undefined), 90_000, 'a QR');
      const frozen = await browserOf(sessionId);
      assert.ok(frozen.length > 0, 'the session runs its browser');
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');

      const startedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        session.destroy().then(() => 'stopped' as const),
        new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 60_000))),
      ]).finally(() => clearTimeout(timer));
      if (outcome === 'hung') for (const pid of await browserOf(sessionId)) process.kill(pid, 'SIGKILL');
      assert.equal(outcome, 'stopped', 'the stop returned within 60 s');
      assert.ok(Date.now() - startedAt < 40_000, `stopped in ${Date.now() - startedAt} ms`);
      await eventually(
        async () => ((await browserOf(sessionId)).length === 0 ? true : undefined),
        10_000,
        'no Chromium left on its profile',
      );
    });
  },
);

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { DatabasePool } from 'slonik';
import { readProcessEnv } from '../../config/env.js';
import { createEngine } from '../../engine/create-engine.js';
import type { SandboxFacts } from '../../engine/real/chromium-sandbox.js';
import { openPool, testStackEnv, uniqueId } from '../helpers/context.js';

/** A host where Chromium cannot sandbox: a non-root worker, but user namespaces are off and no setuid helper. */
const BLOCKED_HOST: SandboxFacts = {
  uid: 1000,
  maxUserNamespaces: 0,
  unprivilegedUserNamespaces: null,
  apparmorRestrictsUserNamespaces: null,
  setuidHelper: false,
};

/** A logger writing JSON lines to memory, as the worker's writes them to its log. */
function capturedLogger() {
  const lines: Array<{ level: number; msg: string; reason?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('Chromium sandbox: a worker that cannot sandbox says so', () => {
  let pool: DatabasePool;
  before(async () => {
    pool = await openPool();
  });
  after(async () => {
    await pool?.end();
  });

  const workerEnv = (setting: string) =>
    readProcessEnv({
      ...process.env,
      WA_ENGINE: 'real',
      WA_WEB: 'whatsapp',
      CHROMIUM_SANDBOX: setting,
      ENGINE_DATA_DIR: `${testStackEnv().dataDir}/${uniqueId('sandbox-warning')}`,
    });

  it('auto falls back to --no-sandbox with one warning that names the reason, at each start', async () => {
    const { log, lines } = capturedLogger();
    const engine = await createEngine(workerEnv('auto'), pool, log, () => BLOCKED_HOST);
    await engine.close();
    log.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const warnings = lines.filter((line) => line.level === 40 && /sandbox/i.test(line.msg));
    assert.equal(warnings.length, 1, `warnings: ${JSON.stringify(lines)}`);
    assert.match(warnings[0]?.msg ?? '', /WITHOUT its sandbox.*user namespaces are off/);
    assert.match(warnings[0]?.reason ?? '', /max_user_namespaces = 0/);
    assert.ok(!lines.some((line) => line.level < 40 && /sandbox/i.test(line.msg)), 'no quieter line about it');
  });

  it('on refuses to start, naming the reason and what to do', async () => {
    const { log } = capturedLogger();
    await assert.rejects(
      createEngine(workerEnv('on'), pool, log, () => BLOCKED_HOST),
      /CHROMIUM_SANDBOX=on, but Chromium cannot sandbox here: user namespaces are off.*Run the worker as a non-root user/,
    );
  });
});

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { findFreePort } from '../../infra/ports.js';
import { resolveTemporalCli } from '../../infra/temporal-cli.js';
import { testLog, testStackEnv } from '../helpers/context.js';
import { envWithoutStack, runStartScript } from '../helpers/start-script.js';

/** Bad configuration stops `npm start` at once, with one line that names the problem. */
describe('bad configuration fails fast with a message naming the problem', () => {
  it('a busy API port', async () => {
    const port = await findFreePort();
    const blocker: Server = createServer().listen(port, '127.0.0.1');
    try {
      const run = runStartScript({ ...envWithoutStack(), API_PORT: String(port) });
      assert.equal(await run.exited, 1);
      assert.match(run.output(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 \\(API\\) is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('an unreachable DATABASE_URL, without printing its password', async () => {
    const port = await findFreePort();
    const run = runStartScript({
      ...envWithoutStack(),
      DATABASE_URL: `postgres://someone:s3cret-pw@127.0.0.1:${port}/nothing`,
      TEMPORAL_ADDRESS: testStackEnv().temporalAddress,
      API_PORT: String(await findFreePort()),
    });
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /DATABASE_URL \(postgres:\/\/someone:\*\*\*@127\.0\.0\.1:\d+\/nothing\) is unreachable/);
    assert.doesNotMatch(run.output(), /s3cret-pw/);
  });

  it('an unreachable TEMPORAL_ADDRESS', async () => {
    const run = runStartScript({
      ...envWithoutStack(),
      DATABASE_URL: testStackEnv().databaseUrl,
      TEMPORAL_ADDRESS: `127.0.0.1:${await findFreePort()}`,
      API_PORT: String(await findFreePort()),
    });
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /TEMPORAL_ADDRESS \(127\.0\.0\.1:\d+\) is unreachable/);
  });

  it('no Temporal CLI anywhere and no Go to build one', async () => {
    await assert.rejects(
      resolveTemporalCli(testLog, { PATH: '/nonexistent-bin' }),
      /no Temporal CLI found .* Go is not installed to build it/,
    );
    const run = runStartScript({
      ...envWithoutStack(),
      PATH: '/nonexistent-bin',
      DATABASE_URL: testStackEnv().databaseUrl,
      API_PORT: String(await findFreePort()),
    });
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /Go is not installed/);
  });

  it('a TEMPORAL_CLI that is not an executable', async () => {
    await assert.rejects(
      resolveTemporalCli(testLog, { TEMPORAL_CLI: '/nonexistent/temporal' }),
      /TEMPORAL_CLI=\/nonexistent\/temporal is not an executable/,
    );
  });

  it('a port that is not a number', async () => {
    const run = runStartScript({ ...envWithoutStack(), TEMPORAL_PORT: 'seven' });
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /TEMPORAL_PORT: Expected number/);
  });
});

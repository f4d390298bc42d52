import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { prettyLines } from '../../lib/logger.js';

/** Runs a process that logs one line with the service's logger, and returns what it printed. */
function logOnce(env: NodeJS.ProcessEnv, underTerminal = false): string {
  const program = `import('./lib/logger.ts').then(({ createLogger }) => createLogger('demo').info({ sessionId: 's-1' }, 'session started'))`;
  const node = [process.execPath, '--import', 'tsx', '-e', program];
  const command = underTerminal
    ? // util-linux's script(1) runs it on a pseudo-terminal, as a person's shell would.
      ['script', '-qec', node.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(' '), '/dev/null']
    : node;
  return execFileSync(command[0] as string, command.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'info', ...env, NO_COLOR: '1' },
  });
}

describe('log lines: for people on a terminal, JSON anywhere else', () => {
  it('the choice: a terminal gets pretty lines unless LOG_FORMAT says json; a pipe gets JSON unless it says pretty', () => {
    assert.equal(prettyLines(undefined, true), true);
    assert.equal(prettyLines('auto', true), true);
    assert.equal(prettyLines('json', true), false);
    assert.equal(prettyLines(undefined, false), false);
    assert.equal(prettyLines('pretty', false), true);
  });

  it('piped (a file, a collector): one JSON object per line', () => {
    const line = JSON.parse(logOnce({ LOG_FORMAT: 'auto' }).trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'session started');
    assert.equal(line.sessionId, 's-1');
    assert.equal(line.component, 'demo');
  });

  it('on a terminal: a readable line with the time, the level, the message and its fields', () => {
    const printed = logOnce({ LOG_FORMAT: 'auto' }, true);
    assert.throws(() => JSON.parse(printed.trim()), 'not JSON');
    assert.match(printed, /\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: demo: session started/);
    assert.match(printed, /sessionId: "s-1"/);
  });
});

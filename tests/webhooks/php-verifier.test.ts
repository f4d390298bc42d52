import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startChild } from '../../lib/child-process.js';
import { findFreePort } from '../../infra/ports.js';
import { setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import { randomPhone } from '../helpers/accounts.js';
import { eventually, testStackEnv, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

const LARAVEL_EXAMPLE = fileURLToPath(new URL('../../examples/laravel/', import.meta.url));

interface Outcome {
  ok: boolean;
  scheme?: string;
  reason?: string;
}

describe('the Laravel webhook middleware (examples/laravel), in PHP, on real deliveries', { timeout: 180_000 }, () => {
  const stack = useSimulatedWorkerStack();

  it('verifies every delivery under each scheme alone, and refuses a changed body and a wrong secret', async () => {
    const workspaceId = uniqueId('ws-php');
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}/webhooks/whatsapp`;
    const secret = await setWorkspaceWebhook(stack.pool, workspaceId, url);
    const log = join(testStackEnv().outputDir, `php-receiver-${workspaceId}.jsonl`);
    const php = startChild({
      name: 'php receiver',
      command: 'php',
      args: ['-S', `127.0.0.1:${port}`, join(LARAVEL_EXAMPLE, 'receiver.php')],
      env: { ...process.env, WA_CONNECT_WEBHOOK_SECRET: secret, WA_RECEIVER_LOG: log },
      logFile: join(testStackEnv().outputDir, `php-receiver-${workspaceId}.log`),
    });
    try {
      await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/`).catch(() => null)) ? true : undefined));
      const { sessionId } = await stack.accounts.create({ workspaceId });
      await stack.accounts.showingQr(sessionId);
      await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
      await stack.accounts.rowWithStatus(sessionId, 'connected');
      const outcomes = await eventually(
        async () => {
          const lines = (await readFile(log, 'utf8').catch(() => ''))
            .split('\n')
            .filter((line) => line.includes('"event"'))
            .map(
              (line) =>
                JSON.parse(line) as {
                  event: string | null;
                  both: Outcome;
                  legacy: Outcome;
                  standard: Outcome;
                  tampered: Outcome;
                  wrongSecret: Outcome;
                },
            )
            .filter((line) => line.event !== null);
          const events = new Set(lines.map((line) => line.event));
          return ['session_created', 'authenticated', 'session_ready'].every((event) => events.has(event))
            ? lines
            : undefined;
        },
        90_000,
        'the status events at the PHP receiver',
      );
      for (const outcome of outcomes) {
        assert.deepEqual(outcome.both, { ok: true, scheme: 'legacy' }, JSON.stringify(outcome));
        assert.deepEqual(outcome.legacy, { ok: true, scheme: 'legacy' });
        assert.deepEqual(outcome.standard, { ok: true, scheme: 'standard' });
        assert.deepEqual(outcome.tampered, { ok: false, reason: 'bad_signature' });
        assert.deepEqual(outcome.wrongSecret, { ok: false, reason: 'bad_signature' });
      }
    } finally {
      await php.stop('SIGTERM');
    }
  });
});

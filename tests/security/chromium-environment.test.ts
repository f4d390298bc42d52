import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DatabasePool } from 'slonik';
import { profileName } from '../../engine/real/postgres-auth.js';
import type { WhatsAppWebEngine } from '../../engine/real/whatsapp-web-engine.js';
import type { EngineEvent, EngineSession } from '../../engine/types.js';
import { sessionKey } from '../../domain/session-key.js';
import { eventually, openPool, testStackEnv, uniqueId } from '../helpers/context.js';
import { realEngineInThisProcess } from '../helpers/real-engine.js';

/**
 * A worker's secrets, as a deployment sets them: the test's own process holds them, as a worker's does, and the real
 * engine runs in it, so every Chromium it launches is a descendant that would inherit them.
 */
const TEMPORAL_TLS = {
  TEMPORAL_TLS_CA: '/run/secrets/temporal-ca-marker-3f9a.pem',
  TEMPORAL_TLS_CERT: '/run/secrets/temporal-cert-marker-3f9a.pem',
  TEMPORAL_TLS_KEY: '/run/secrets/temporal-key-marker-3f9a.pem',
  TEMPORAL_TLS_SERVER_NAME: 'temporal-marker-3f9a.internal',
};

interface ProcessEntry {
  pid: number;
  parent: number;
  cmdline: string;
}

async function processes(): Promise<ProcessEntry[]> {
  const entries: ProcessEntry[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const parent = /^PPid:\s+(\d+)/m.exec(status)?.[1];
    if (parent === undefined) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    entries.push({ pid: Number(entry), parent: Number(parent), cmdline });
  }
  return entries;
}

/** The Chromium processes of one session: its browser (found by its profile) and everything under it. */
async function chromiumProcessesOf(profile: string): Promise<ProcessEntry[]> {
  const all = await processes();
  const browsers = all.filter((entry) => entry.cmdline.includes(`--user-data-dir=${profile}`));
  const found = new Map(browsers.map((entry) => [entry.pid, entry]));
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of all) {
      if (!found.has(entry.pid) && found.has(entry.parent)) {
        found.set(entry.pid, entry);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

describe("Chromium's environment: none of the worker's secrets", { timeout: 180_000 }, () => {
  let pool: DatabasePool;
  let engine: WhatsAppWebEngine;
  let session: EngineSession | undefined;
  const dataDir = resolve(testStackEnv().dataDir, uniqueId('engine-environment'));
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    for (const [name, value] of Object.entries(TEMPORAL_TLS)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    assert.ok(process.env.ENCRYPTION_KEYS && process.env.DATABASE_URL, 'the test stack sets both');
    pool = await openPool();
    engine = await realEngineInThisProcess(pool, dataDir);
  });
  after(async () => {
    await session?.destroy();
    await engine?.close();
    await pool?.end();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('every Chromium process of a running session has no keyring, no database URL, no Temporal TLS setting', async () => {
    const sessionId = sessionKey(uniqueId('ws-environment'), uniqueId('environment'));
    const events: EngineEvent[] = [];
    session = await engine.start({ sessionId, onEvent: (event) => events.push(event) });
    // A QR on the page: the browser, its renderer and its helpers all run.
    await eventually(
      async () => (events.some((event) => event.type === 'qr') ? true : undefined),
      90_000,
      `a QR (events so far: ${events.map((event) => event.type).join(', ')})`,
    );

    const secretNames = ['ENCRYPTION_KEYS', 'DATABASE_URL', ...Object.keys(TEMPORAL_TLS)];
    const secretValues = secretNames.map((name) => process.env[name] ?? '').filter((value) => value.length >= 8);
    // Each keyring entry on its own, too: an environment holding one key is as bad as one holding all.
    for (const entry of (process.env.ENCRYPTION_KEYS ?? '').split(',')) secretValues.push(entry.trim());

    const chromium = await chromiumProcessesOf(join(dataDir, 'sessions', profileName(sessionId)));
    assert.ok(chromium.length >= 2, `a browser and its children: ${chromium.map((entry) => entry.cmdline).join('\n')}`);
    let read = 0;
    for (const entry of chromium) {
      let environ: string;
      try {
        environ = await readFile(`/proc/${entry.pid}/environ`, 'utf8');
      } catch (error) {
        // Gone meanwhile (a helper that exited): nothing left to read.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH')
          continue;
        throw new Error(`cannot read the environment of ${entry.pid} (${entry.cmdline})`, { cause: error });
      }
      read += 1;
      const variables = environ.split('\0').filter(Boolean);
      const names = variables.map((variable) => variable.split('=')[0] ?? '');
      for (const name of names) {
        assert.ok(
          !secretNames.includes(name) && !name.startsWith('TEMPORAL_TLS_'),
          `${name} in the environment of ${entry.pid} (${entry.cmdline.slice(0, 120)})`,
        );
      }
      for (const value of secretValues)
        assert.ok(!environ.includes(value), `a secret's value in the environment of ${entry.pid}`);
    }
    assert.ok(read >= 2, `environments read: ${read}`);
  });
});

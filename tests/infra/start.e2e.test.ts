import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { findAccountBySession, insertAccount } from '../../db/accounts.js';
import { createDatabasePool } from '../../db/pool.js';
import { findFreePort } from '../../infra/ports.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { accountConnection } from '../../workflows/account-connection.js';
import { deleteAccountSignal, signalAccount } from '../../workflows/messages.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { testStackEnv, uniqueId } from '../helpers/context.js';
import { envWithoutStack, runStartScript, type StartScriptRun } from '../helpers/start-script.js';

/** `npm start` on embedded defaults: everything comes up, Ctrl-C leaves nothing behind, the next start keeps the data. */
describe('npm start (embedded Temporal and PostgreSQL)', { timeout: 300_000 }, () => {
  it('starts, stops cleanly on SIGINT and on a hang-up (SIGHUP), and a second start keeps every workflow and row', async () => {
    const dataDir = join(testStackEnv().dataDir, 'start-e2e');
    const ports = {
      TEMPORAL_PORT: await findFreePort(),
      TEMPORAL_UI_PORT: await findFreePort(),
      LOCAL_PG_PORT: await findFreePort(),
      API_PORT: await findFreePort(),
    };
    const env = {
      ...envWithoutStack(),
      DATA_DIR: dataDir,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    const apiUrl = `http://127.0.0.1:${ports.API_PORT}`;
    const sessionId = uniqueId('persist');
    const workspaceId = uniqueId('ws');

    const first = runStartScript(env);
    await first.ready;
    assert.equal((await fetch(`${apiUrl}/ready`)).status, 200);
    const toLogin = await fetch(`${apiUrl}/temporal/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(toLogin.status, 303, 'the Temporal Web UI asks a browser to sign in first');
    const adminKey = (await readFile(join(dataDir, 'admin-api-key'), 'utf8')).trim();
    const asOperator = { headers: { authorization: `Bearer ${adminKey}` } };
    assert.equal((await fetch(`${apiUrl}/temporal/`, asOperator)).status, 200, 'the UI, through the API');
    const namespaces = (await (await fetch(`${apiUrl}/temporal/api/v1/namespaces`, asOperator)).json()) as {
      namespaces: { namespaceInfo: { name: string } }[];
    };
    assert.ok(
      namespaces.namespaces.some((ns) => ns.namespaceInfo.name === 'default'),
      'the UI shows the namespace',
    );

    const databaseUrl = `postgres://wa_connect:${encodeURIComponent((await readFile(join(dataDir, 'postgres', 'password'), 'utf8')).trim())}@127.0.0.1:${ports.LOCAL_PG_PORT}/wa_connect`;
    await withStack(databaseUrl, `127.0.0.1:${ports.TEMPORAL_PORT}`, async (pool, client) => {
      await insertAccount(pool, { workspaceId, sessionId });
      await client.workflow.start(accountConnection, {
        taskQueue: 'wa-accounts',
        workflowId: accountWorkflowId(workspaceId, sessionId),
        args: [{ sessionId, workspaceId }],
      });
    });
    await stopWith(first, 'SIGINT');
    assertNothingLeft(dataDir, Object.values(ports));

    const second = runStartScript(env);
    await second.ready;
    await withStack(databaseUrl, `127.0.0.1:${ports.TEMPORAL_PORT}`, async (pool, client) => {
      const row = await findAccountBySession(pool, workspaceId, sessionId);
      assert.equal(row?.workspace_id, workspaceId, 'the row survived the restart');
      const handle = client.workflow.getHandle(accountWorkflowId(workspaceId, sessionId));
      assert.equal((await handle.describe()).status.name, 'RUNNING', 'the workflow survived the restart');
      await signalAccount(handle, deleteAccountSignal);
      assert.equal((await handle.result()).status, 'failed');
    });
    await stopWith(second, 'SIGHUP');
    assertNothingLeft(dataDir, Object.values(ports));
  });
});

async function withStack(
  databaseUrl: string,
  temporalAddress: string,
  use: (pool: Awaited<ReturnType<typeof createDatabasePool>>, client: Client) => Promise<void>,
) {
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 2 });
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    await use(pool, new Client({ connection, dataConverter: dataConverterFromEnv(process.env) }));
  } finally {
    await connection.close();
    await pool.end();
  }
}

async function stopWith(run: StartScriptRun, signal: 'SIGINT' | 'SIGHUP') {
  run.child.kill(signal);
  assert.equal(await run.exited, 0, run.output().slice(-2000));
}

function assertNothingLeft(dataDir: string, ports: number[]) {
  const processes = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir));
  assert.deepEqual(processes, [], 'no process of the stack is left running');
  const listening = execFileSync('ss', ['-ltnH'], { encoding: 'utf8' });
  for (const port of ports) assert.doesNotMatch(listening, new RegExp(`:${port}\\s`), `port ${port} is free again`);
}

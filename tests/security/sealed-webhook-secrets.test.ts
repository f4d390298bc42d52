import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { migrate, MIGRATIONS_DIR } from '../../db/migrate.js';
import { createDatabasePool } from '../../db/pool.js';
import { createWebhookEndpoint, endpointSecrets, findWebhookEndpoint } from '../../db/webhook-endpoints.js';
import { reencryptWebhookSecrets, webhookSecrets } from '../../db/webhook-secrets.js';
import { newKeyEntry, parseKeyring } from '../../lib/keyring.js';
import { webhookPolicyFromEnv } from '../../webhooks/network-policy.js';
import { verifyWebhook } from '../../webhooks/signing.js';
import { randomPhone } from '../helpers/accounts.js';
import { useTestApi } from '../helpers/api.js';
import { eventually, testLog, testStackEnv, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';
import { RecordingReceiver } from '../helpers/recording-receiver.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url);

/** Everything the row holds, as one text: a secret must not appear in it, whatever the column. */
const rowText = (pool: DatabasePool, workspaceId: string) =>
  pool.oneFirst(
    sql.type(
      z.object({ row: z.string() }),
    )`SELECT row_to_json(w)::text AS row FROM workspaces w WHERE id = ${workspaceId}`,
  );

/** The secret and its key bytes (whsec_ + base64), each of which would sign for the workspace. */
const partsOf = (secret: string) => [secret, secret.replace(/^whsec_/, '')];

describe('webhook signing secrets at rest', { timeout: 180_000 }, () => {
  const stack = useSimulatedWorkerStack();
  const api = useTestApi({ webhookPolicy: webhookPolicyFromEnv('127.0.0.1') });
  let receiver: RecordingReceiver;

  before(async () => {
    receiver = await RecordingReceiver.start();
  });
  after(async () => {
    await receiver.close();
  });

  const putWebhook = async (workspaceId: string, rotateSecret: boolean) => {
    const response = await api.as(api.adminKey, {
      method: 'PUT',
      url: `/v1/workspaces/${workspaceId}/webhook`,
      payload: { webhookUrl: receiver.url, rotateSecret },
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ webhookSecret: string }>().webhookSecret;
  };

  it('set through the API, the row holds no secret in clear, and deliveries are still signed with it', async () => {
    const workspaceId = uniqueId('ws-sealed');
    const first = await putWebhook(workspaceId, false);
    const current = await putWebhook(workspaceId, true);
    assert.match(current, /^whsec_/);
    assert.notEqual(current, first);
    const row = await rowText(stack.pool, workspaceId);
    for (const part of [...partsOf(first), ...partsOf(current)]) {
      assert.ok(!row.includes(part), 'no secret, current or previous, anywhere in the row');
    }

    const { sessionId } = await stack.accounts.create({ workspaceId });
    await stack.accounts.showingQr(sessionId);
    await stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    const ready = await eventually(
      async () =>
        receiver.received.find(
          (delivery) => delivery.body.includes(sessionId) && delivery.body.includes('session_ready'),
        ),
      60_000,
      'the session_ready delivery',
    );
    assert.deepEqual(verifyWebhook({ headers: ready.headers, rawBody: ready.body, secret: current }), {
      ok: true,
      scheme: 'legacy',
    });
  });

  it("a sealed secret copied onto another workspace's row does not open", async () => {
    const [victim, thief] = [uniqueId('ws-victim'), uniqueId('ws-thief')];
    const victimSecret = await putWebhook(victim, false);
    await putWebhook(thief, false);
    await stack.pool.query(sql.unsafe`
      UPDATE workspaces SET webhook_secret = (SELECT webhook_secret FROM workspaces WHERE id = ${victim}) WHERE id = ${thief}
    `);
    const response = await api.as(api.adminKey, { method: 'GET', url: `/v1/workspaces/${thief}/webhook` });
    assert.ok(!response.body.includes(victimSecret), "the thief's row never yields the victim's secret");
    assert.equal(response.statusCode, 500);
  });

  describe('npm run keys -- reencrypt-webhook-secrets, in a database of its own', () => {
    const database = uniqueId('keys').toLowerCase().replaceAll('-', '_');
    let databaseUrl: string;
    let pool: DatabasePool;
    let owner: DatabasePool;
    let migrations: string;

    before(async () => {
      owner = await createDatabasePool(testStackEnv().databaseUrl, { maximumPoolSize: 1 });
      await owner.query(sql.unsafe`CREATE DATABASE ${sql.identifier([database])}`);
      const parsed = new URL(testStackEnv().databaseUrl);
      parsed.pathname = `/${database}`;
      databaseUrl = parsed.toString();
      // The schema as it was before sealing, so a secret can be stored in clear as deployments still hold them.
      migrations = await mkdtemp(join(tmpdir(), 'migrations-before-sealing-'));
      for (const file of await readdir(MIGRATIONS_DIR)) {
        if (file < '0020') await cp(join(MIGRATIONS_DIR, file), join(migrations, file));
      }
      await migrate(databaseUrl, testLog, migrations);
      pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 2 });
    });
    after(async () => {
      await pool?.end();
      await owner?.query(sql.unsafe`DROP DATABASE IF EXISTS ${sql.identifier([database])} WITH (FORCE)`);
      await owner?.end();
      await rm(migrations, { recursive: true, force: true });
    });

    it('seals the secrets stored in clear before, and moves sealed ones to a new active key', async () => {
      const keyA = newKeyEntry('a');
      const keyB = newKeyEntry('b');
      const legacy = `whsec_${Buffer.from('a secret from before sealing, 32b').toString('base64')}`;
      await pool.query(sql.unsafe`INSERT INTO workspaces (id, webhook_secret) VALUES ('legacy', ${legacy})`);
      await migrate(databaseUrl, testLog);
      await pool.query(sql.unsafe`INSERT INTO workspaces (id) VALUES ('sealed')`);
      const sealedSecret = (await webhookSecrets(pool, parseKeyring(keyA), 'sealed'))?.current;
      assert.ok(sealedSecret);
      // An endpoint's own secret, sealed under the old key too.
      const endpoint = await createWebhookEndpoint(pool, parseKeyring(keyA), {
        workspaceId: 'sealed',
        accountId: null,
        url: 'https://backend.example/hooks',
        eventTypes: ['session_ready'],
        description: '',
        enabled: true,
      });
      const endpointSecret = (await endpointSecrets(pool, parseKeyring(keyA), endpoint))?.current;
      assert.ok(endpointSecret);
      await assert.rejects(
        pool.query(sql.unsafe`UPDATE workspaces SET webhook_secret = ${legacy} WHERE id = 'sealed'`),
        /check/i,
        'a secret in clear is refused as a new value',
      );

      const keys = async (keyring: string) =>
        run('npx', ['tsx', 'scripts/api-keys.ts', 'reencrypt-webhook-secrets'], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: databaseUrl, ENCRYPTION_KEYS: keyring },
        });
      await keys(`${keyB},${keyA}`);
      for (const [workspaceId, secret] of [
        ['legacy', legacy],
        ['sealed', sealedSecret],
      ] as const) {
        const row = await rowText(pool, workspaceId);
        for (const part of partsOf(secret)) assert.ok(!row.includes(part), `${workspaceId}: nothing in clear`);
        assert.match(row, /"webhook_secret":"sealed1:b:/);
        assert.equal((await webhookSecrets(pool, parseKeyring(keyB), workspaceId))?.current, secret);
      }
      const movedEndpoint = await findWebhookEndpoint(pool, 'sealed', endpoint.id);
      assert.ok(movedEndpoint);
      assert.ok(movedEndpoint.secret?.startsWith('sealed1:b:'), "the endpoint's secret moved to the new key");
      assert.ok(!JSON.stringify(movedEndpoint).includes(endpointSecret.replace(/^whsec_/, '')));
      assert.equal((await endpointSecrets(pool, parseKeyring(keyB), movedEndpoint))?.current, endpointSecret);
      // Bound to its row: copied onto another endpoint, it does not open.
      const other = await createWebhookEndpoint(pool, parseKeyring(keyB), {
        workspaceId: 'sealed',
        accountId: null,
        url: endpoint.url,
        eventTypes: null,
        description: '',
        enabled: true,
      });
      await pool.query(
        sql.unsafe`UPDATE webhook_endpoints SET secret = ${movedEndpoint.secret} WHERE id = ${other.id}`,
      );
      const copied = await findWebhookEndpoint(pool, 'sealed', other.id);
      assert.ok(copied);
      await assert.rejects(endpointSecrets(pool, parseKeyring(keyB), copied));
      assert.deepEqual(await reencryptWebhookSecrets(pool, parseKeyring(keyB)), { moved: 0, unreadable: [] });
    });
  });
});

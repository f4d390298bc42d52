import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { migrate } from '../../db/migrate.js';
import { createDatabasePool } from '../../db/pool.js';
import { reencryptProxyCredentials, setWorkspaceProxy } from '../../db/proxy-settings.js';
import { newKeyEntry, parseKeyring } from '../../lib/keyring.js';
import { openProxyCredentials } from '../../lib/sealed-proxy-credentials.js';
import { testLog, testStackEnv, uniqueId } from '../helpers/context.js';

const LOGIN = { username: 'office', password: 'rotate-M3-please' };

describe('proxy logins at rest, in a database of their own', () => {
  const database = uniqueId('proxykeys').toLowerCase().replaceAll('-', '_');
  let pool: DatabasePool;
  let owner: DatabasePool;

  before(async () => {
    owner = await createDatabasePool(testStackEnv().databaseUrl, { maximumPoolSize: 1 });
    await owner.query(sql.unsafe`CREATE DATABASE ${sql.identifier([database])}`);
    const parsed = new URL(testStackEnv().databaseUrl);
    parsed.pathname = `/${database}`;
    await migrate(parsed.toString(), testLog);
    pool = await createDatabasePool(parsed.toString(), { maximumPoolSize: 2 });
  });
  after(async () => {
    await pool?.end();
    await owner?.query(sql.unsafe`DROP DATABASE IF EXISTS ${sql.identifier([database])} WITH (FORCE)`);
    await owner?.end();
  });

  const storedOf = (workspaceId: string) =>
    pool.oneFirst(sql.type(z.object({ proxy_credentials: z.string() }))`
      SELECT proxy_credentials FROM workspaces WHERE id = ${workspaceId}
    `);

  it('are sealed to their owner: a copy on another row does not open; a rotation moves them to the new key', async () => {
    const keyA = newKeyEntry('a');
    const keyB = newKeyEntry('b');
    const address = { scheme: 'socks5' as const, host: 'proxy.example', port: 1080 };
    await setWorkspaceProxy(pool, parseKeyring(keyA), 'shop', { address, credentials: LOGIN });
    const sealedUnderA = await storedOf('shop');
    assert.match(sealedUnderA, /^sealed1:a:/);
    assert.ok(!sealedUnderA.includes(LOGIN.password));
    assert.deepEqual(openProxyCredentials(parseKeyring(keyA), 'shop', sealedUnderA), LOGIN);
    assert.throws(() => openProxyCredentials(parseKeyring(keyA), 'other-shop', sealedUnderA), 'bound to its owner');

    const rotated = parseKeyring(`${keyB},${keyA}`);
    assert.deepEqual(await reencryptProxyCredentials(pool, rotated), { moved: 1, unreadable: [] });
    const sealedUnderB = await storedOf('shop');
    assert.match(sealedUnderB, /^sealed1:b:/);
    assert.deepEqual(openProxyCredentials(parseKeyring(keyB), 'shop', sealedUnderB), LOGIN, 'opens with B alone');
    assert.deepEqual(await reencryptProxyCredentials(pool, rotated), { moved: 0, unreadable: [] }, 'nothing left');
  });
});

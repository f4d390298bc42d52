import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { EngineAuthStore } from '../../db/engine-auth.js';
import { newKeyEntry, parseKeyring } from '../../lib/keyring.js';
import { randomPhone } from '../helpers/accounts.js';
import { openPool, uniqueId } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

const rawRow = z.object({
  data: z.instanceof(Buffer),
  key_id: z.string().nullable(),
  wrapped_key: z.instanceof(Buffer).nullable(),
});
const readRaw = (pool: DatabasePool, sessionId: string) =>
  pool.one(sql.type(rawRow)`SELECT data, key_id, wrapped_key FROM engine_auth WHERE session_id = ${sessionId}`);

describe('saved logins at rest', () => {
  let pool: DatabasePool;
  const keyA = newKeyEntry('a');
  const keyB = newKeyEntry('b');

  before(async () => {
    pool = await openPool();
  });
  after(async () => {
    await pool.end();
  });

  it('are sealed: the table holds ciphertext and the key id; the store opens them', async () => {
    const store = new EngineAuthStore(pool, parseKeyring(keyA));
    const sessionId = uniqueId('sealed');
    const login = Buffer.from(JSON.stringify({ phoneNumber: '62811801641', pushName: 'Toko Maju' }));
    await store.save(sessionId, 'simulated', login);
    const raw = await readRaw(pool, sessionId);
    assert.equal(raw.key_id, 'a');
    assert.ok(raw.wrapped_key && raw.wrapped_key.length > 32);
    assert.ok(!raw.data.includes('62811801641') && !raw.data.includes('Toko Maju'), 'no part of the login in clear');
    assert.deepEqual(await store.load(sessionId), login);
  });

  it("a sealed login copied onto another session's row does not open", async () => {
    const store = new EngineAuthStore(pool, parseKeyring(keyA));
    const [victim, thief] = [uniqueId('victim'), uniqueId('thief')];
    await store.save(victim, 'simulated', Buffer.from('the login'));
    await store.save(thief, 'simulated', Buffer.from('another login'));
    await pool.query(sql.unsafe`
      UPDATE engine_auth SET (data, key_id, wrapped_key) = (SELECT data, key_id, wrapped_key FROM engine_auth WHERE session_id = ${victim})
      WHERE session_id = ${thief}
    `);
    await assert.rejects(store.load(thief), /unable to authenticate|auth/i);
  });

  it('rotate: a new key first, the old one still opens, re-encryption moves every login to the new key', async () => {
    const sessionId = uniqueId('rotate');
    await new EngineAuthStore(pool, parseKeyring(keyA)).save(sessionId, 'real', Buffer.from('profile bytes'));
    const rotated = new EngineAuthStore(pool, parseKeyring(`${keyB},${keyA}`));
    assert.deepEqual(await rotated.load(sessionId), Buffer.from('profile bytes'), 'the old key still opens it');
    const { unreadable } = await rotated.reencryptAll();
    assert.ok(!unreadable.includes(sessionId));
    assert.equal((await readRaw(pool, sessionId)).key_id, 'b');
    const withoutOldKey = new EngineAuthStore(pool, parseKeyring(keyB));
    assert.deepEqual(await withoutOldKey.load(sessionId), Buffer.from('profile bytes'));
  });

  it('a login saved before sealing existed is refused until re-encryption seals it', async () => {
    const sessionId = uniqueId('legacy');
    await pool.query(sql.unsafe`
      INSERT INTO engine_auth (session_id, engine, data) VALUES (${sessionId}, 'simulated', ${sql.binary(Buffer.from('{"legacy":true}'))})
    `);
    const store = new EngineAuthStore(pool, parseKeyring(keyA));
    await assert.rejects(store.load(sessionId), /not sealed/);
    assert.ok(!(await store.reencryptAll()).unreadable.includes(sessionId));
    assert.deepEqual(await store.load(sessionId), Buffer.from('{"legacy":true}'));
  });
});

describe("a connected account's saved login in PostgreSQL", { timeout: 120_000 }, () => {
  const stack = useSimulatedWorkerStack();

  it('is ciphertext: its phone number and push name are not in the row', async () => {
    const { sessionId } = await stack.accounts.create();
    await stack.accounts.showingQr(sessionId);
    const phone = randomPhone();
    await stack.accounts.phone(sessionId, 'scan', { phone, pushName: 'Warung Sealed' });
    await stack.accounts.rowWithStatus(sessionId, 'connected');
    const raw = await readRaw(stack.pool, await stack.accounts.key(sessionId));
    assert.ok(raw.key_id, 'sealed under a named key');
    assert.ok(!raw.data.includes(phone) && !raw.data.includes('Warung Sealed'));
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseKeyring } from '../../lib/keyring.js';
import { readProcessEnv } from '../../config/env.js';

/** A malformed ENCRYPTION_KEYS stops the start with a message that holds nothing of any key, only where it is. */
describe('keyring errors', () => {
  const secret = randomBytes(32).toString('base64');
  const good = `a:${randomBytes(32).toString('base64')}`;

  for (const [what, value] of [
    ['an entry without an id', `${good},${secret}`],
    ['an entry with an empty id', `${good},:${secret}`],
    ['an entry whose id is not an id', `${good},${secret.slice(0, 20)}!:${secret}`],
  ] as const) {
    it(`${what} is named by its position, none of its characters printed`, () => {
      let message = '';
      try {
        parseKeyring(value);
      } catch (error) {
        message = (error as Error).message;
      }
      assert.match(message, /entry 2/);
      for (let start = 0; start + 6 <= secret.length; start += 1) {
        assert.ok(!message.includes(secret.slice(start, start + 6)), `no part of the key in: ${message}`);
      }
    });
  }

  it('the start-up error names ENCRYPTION_KEYS and holds nothing of the key', () => {
    let message = '';
    try {
      readProcessEnv({ DATABASE_URL: 'postgres://x@127.0.0.1/x', TEMPORAL_ADDRESS: 'x:1', ENCRYPTION_KEYS: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, /ENCRYPTION_KEYS/);
    for (let start = 0; start + 6 <= secret.length; start += 1) {
      assert.ok(!message.includes(secret.slice(start, start + 6)), `no part of the key in: ${message}`);
    }
  });
});

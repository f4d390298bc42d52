import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type DatabasePool } from 'slonik';
import { createWebhookActivities } from '../../activities/webhooks.js';
import { insertAccount, recordStatusChange } from '../../db/accounts.js';
import { keyringFromEnv } from '../../lib/keyring.js';
import { firstDeliveryOf, setWorkspaceWebhook } from '../helpers/webhook-secrets.js';
import { webhookPolicyFromEnv } from '../../webhooks/network-policy.js';
import { verifyWebhook } from '../../webhooks/signing.js';
import { openPool, uniqueId } from '../helpers/context.js';
import { sessionKey } from '../../domain/session-key.js';
import { RecordingReceiver } from '../helpers/recording-receiver.js';

/** A rotated signing secret keeps signing beside the new one for a grace period: in-flight retries still verify. */
describe('webhook signing-secret rotation', () => {
  let pool: DatabasePool;
  let receiver: RecordingReceiver;
  const activities = () =>
    createWebhookActivities(pool, keyringFromEnv(process.env), webhookPolicyFromEnv('127.0.0.1'));

  before(async () => {
    pool = await openPool();
    receiver = await RecordingReceiver.start();
  });
  after(async () => {
    await receiver.close();
    await pool.end();
  });

  const deliverNewEvent = async (workspaceId: string) => {
    const sessionId = uniqueId('rot');
    await insertAccount(pool, { workspaceId, sessionId });
    const change = {
      sessionId: sessionKey(workspaceId, sessionId),
      status: 'qr_scanning' as const,
      eventType: 'session_created' as const,
      dedupeKey: sessionId,
    };
    const eventId = (await recordStatusChange(pool, change)).eventIds[0] ?? 0;
    await activities().deliverWebhook(await firstDeliveryOf(pool, eventId));
    const delivery = receiver.received.at(-1);
    assert.ok(delivery);
    return delivery;
  };

  it('during the grace period a delivery verifies with the new secret and with the previous one', async () => {
    const workspaceId = uniqueId('ws-rot');
    const previous = await setWorkspaceWebhook(pool, workspaceId, receiver.url);
    const current = await setWorkspaceWebhook(pool, workspaceId, receiver.url, true);
    assert.notEqual(previous, current);
    const { headers, body } = await deliverNewEvent(workspaceId);
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret: current }), { ok: true, scheme: 'legacy' });
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret: previous }), { ok: true, scheme: 'standard' });
    assert.equal(String(headers['webhook-signature']).split(' ').length, 2);
  });

  it('after the grace period only the new secret signs', async () => {
    const workspaceId = uniqueId('ws-rot');
    const previous = await setWorkspaceWebhook(pool, workspaceId, receiver.url);
    await setWorkspaceWebhook(pool, workspaceId, receiver.url, true);
    await pool.query(
      sql.unsafe`UPDATE workspaces SET secret_rotated_at = now() - interval '25 hours' WHERE id = ${workspaceId}`,
    );
    const { headers, body } = await deliverNewEvent(workspaceId);
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret: previous }), {
      ok: false,
      reason: 'bad_signature',
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'slonik';
import { keyPrefixOf } from '../../db/workspaces.js';
import { auditedChanges } from '../../api/audit-entry.js';
import { useTestApi } from '../helpers/api.js';
import { eventually, openPool, uniqueId } from '../helpers/context.js';

interface AuditView {
  id: number;
  workspaceId: string | null;
  actor: { kind: string; keyPrefix: string | null; name: string };
  clientAddress: string;
  action: string;
  target: string | null;
  changes: Record<string, unknown>;
  statusCode: number;
  outcome: string;
}

describe('what the audit keeps of a request body (a pure function)', () => {
  it('whatever was sent is kept as an object PostgreSQL can store: arrays and text wrapped, NUL and half surrogates replaced', () => {
    assert.deepEqual(auditedChanges([1, 'two']), { body: [1, 'two'] });
    assert.deepEqual(auditedChanges('text'), { body: 'text' });
    assert.deepEqual(auditedChanges({ 'a\u0000b': 'c\ud800d' }), { 'a\ufffdb': 'c\ufffdd' });
  });

  it('secrets and login codes redacted, phone numbers masked, URLs without credentials or query', () => {
    assert.deepEqual(
      auditedChanges({
        webhookUrl: 'https://user:pw@backend.example/hook?token=abc',
        rotateSecret: true,
        phoneNumber: '62811801641',
        proxy: { url: 'http://10.0.0.1:3128', password: 'hunter2' },
        metadata: { crm: 'A-17' },
        name: 'backend',
      }),
      {
        webhookUrl: 'https://backend.example/hook?[redacted]',
        rotateSecret: '[redacted]',
        phoneNumber: '…641',
        proxy: { url: 'http://10.0.0.1:3128/', password: '[redacted]' },
        metadata: { crm: 'A-17' },
        name: 'backend',
      },
    );
  });
});

describe('the audit log: who changed what, from where, with what outcome', () => {
  const api = useTestApi();

  const auditOf = async (key: string, url: string): Promise<AuditView[]> => {
    const answer = await api.as(key, { url });
    assert.equal(answer.statusCode, 200, answer.body);
    return answer.json<{ items: AuditView[] }>().items;
  };

  it("every change through the API is in its workspace's audit, newest first; reads are not; another workspace sees none", async () => {
    const workspaceId = uniqueId('ws-audit');
    const key = await api.keyFor(workspaceId);
    const sessionId = uniqueId('audited');
    const created = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId, metadata: { crm: 'A-17' } },
    });
    assert.equal(created.statusCode, 201, created.body);
    await api.as(key, { url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}` });
    const refused = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId: 'not a valid id!' },
    });
    assert.equal(refused.statusCode, 400, refused.body);
    const rotated = await api.as(key, {
      method: 'PUT',
      url: `/v1/workspaces/${workspaceId}/webhook`,
      payload: { webhookUrl: null, rotateSecret: true },
    });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const restarted = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts/${sessionId}/restart`,
    });
    assert.equal(restarted.statusCode, 202, restarted.body);

    // Each entry is written once its answer has gone (api/plugins/audit.ts): the restart's may come a moment after.
    const entries = await eventually(
      async () => {
        const items = await auditOf(key, `/v1/workspaces/${workspaceId}/audit`);
        return items.length >= 4 ? items : undefined;
      },
      10_000,
      'the four changes audited',
    );
    assert.deepEqual(
      entries.map((entry) => [entry.action, entry.target, entry.outcome, entry.statusCode]),
      [
        ['POST /v1/workspaces/:workspaceId/accounts/:sessionId/restart', sessionId, 'done', 202],
        ['PUT /v1/workspaces/:workspaceId/webhook', null, 'done', 200],
        ['POST /v1/workspaces/:workspaceId/accounts', null, 'refused', 400],
        ['POST /v1/workspaces/:workspaceId/accounts', null, 'done', 201],
      ],
    );
    for (const entry of entries) {
      assert.deepEqual(entry.actor, { kind: 'key', keyPrefix: keyPrefixOf(key), name: `test ${workspaceId}` });
      assert.equal(entry.clientAddress, '127.0.0.1');
      assert.equal(entry.workspaceId, workspaceId);
    }
    assert.deepEqual(entries[1]?.changes, { webhookUrl: null, rotateSecret: '[redacted]' });
    assert.deepEqual(
      entries[3]?.changes,
      { sessionId, mode: 'qr', metadata: { crm: 'A-17' } },
      'as validated: defaults in',
    );

    const otherWorkspace = uniqueId('ws-audit-other');
    const otherKey = await api.keyFor(otherWorkspace);
    assert.deepEqual(await auditOf(otherKey, `/v1/workspaces/${otherWorkspace}/audit`), []);
    const foreign = await api.as(otherKey, { url: `/v1/workspaces/${workspaceId}/audit` });
    assert.equal(foreign.statusCode, 404, 'another workspace cannot read it');

    // A change another workspace's key asks of this one is refused, and audited where that key belongs.
    const intrusion = await api.as(otherKey, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId: uniqueId('intruder'), metadata: { note: 'from elsewhere' } },
    });
    assert.equal(intrusion.statusCode, 404, intrusion.body);
    const intruderEntries = await eventually(
      async () => {
        const items = await auditOf(otherKey, `/v1/workspaces/${otherWorkspace}/audit`);
        return items.length > 0 ? items : undefined;
      },
      10_000,
      "the refused change in its key's own workspace",
    );
    assert.deepEqual(
      intruderEntries.map((entry) => [entry.action, entry.outcome, entry.statusCode, entry.workspaceId]),
      [['POST /v1/workspaces/:workspaceId/accounts', 'refused', 404, otherWorkspace]],
    );
    assert.equal((await auditOf(key, `/v1/workspaces/${workspaceId}/audit`)).length, 4, 'nothing of it here');
  });

  it("operators' changes and sign-ins are in the admin audit, refused ones too", async () => {
    const workspaceId = uniqueId('ws-audit-admin');
    const issued = await api.as(api.adminKey, {
      method: 'POST',
      url: '/v1/admin/api-keys',
      payload: { workspaceId, name: 'backend' },
    });
    assert.equal(issued.statusCode, 201, issued.body);
    const prefix = issued.json<{ prefix: string }>().prefix;
    assert.equal(
      (await api.as(api.adminKey, { method: 'DELETE', url: `/v1/admin/api-keys/${prefix}` })).statusCode,
      204,
    );
    const refusedSignIn = await api.as('wak_000000000000_not-a-key', {
      method: 'POST',
      url: '/v1/admin/operator-sessions',
    });
    assert.equal(refusedSignIn.statusCode, 401);

    // Entries are written once their answers have gone (api/plugins/audit.ts): each may come a moment after.
    const entries = await eventually(
      async () => {
        const items = await auditOf(api.adminKey, `/v1/admin/audit?workspaceId=${workspaceId}`);
        return items.length >= 2 ? items : undefined;
      },
      10_000,
      'the two key changes audited',
    );
    assert.deepEqual(
      entries.map((entry) => [entry.action, entry.target, entry.outcome]),
      [
        ['DELETE /v1/admin/api-keys/:prefix', prefix, 'done'],
        ['POST /v1/admin/api-keys', null, 'done'],
      ],
    );
    assert.equal(entries[1]?.actor.name, 'test admin');
    const refusedSignIns = await eventually(
      async () => {
        const items = (await auditOf(api.adminKey, '/v1/admin/audit?limit=50')).filter(
          (entry) => entry.action === 'POST /v1/admin/operator-sessions' && entry.outcome === 'refused',
        );
        return items.length > 0 ? items : undefined;
      },
      10_000,
      'the refused sign-in audited',
    );
    assert.ok(refusedSignIns.some((entry) => entry.actor.kind === 'anonymous' && entry.statusCode === 401));
  });

  it('is append-only: an entry is never changed, and none younger than a day can be removed', async () => {
    const pool = await openPool();
    try {
      await assert.rejects(pool.query(sql.unsafe`UPDATE audit_log SET outcome = 'done'`), /append-only/);
      await assert.rejects(pool.query(sql.unsafe`DELETE FROM audit_log`), /younger than a day/);
    } finally {
      await pool.end();
    }
  });
});
